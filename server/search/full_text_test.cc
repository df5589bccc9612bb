#include "server/search/full_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "fhir/json/json.h"
#include "server/search/criteria.h"
#include "server/search/extract.h"
#include "tests/support/test_definitions.h"
#include "tests/support/test_registry.h"

namespace server::search {
namespace {

using server::store::IndexEntries;
using server::store::TextTest;
using ::testing::ElementsAre;
using Kind = TextToken::Kind;

// "lexeme@position" for each token; a run's last character is marked with '$', a lone CJK
// character with '!'.
std::vector<std::string> Tokens(std::string_view text) {
  std::vector<std::string> out;
  for (const TextToken& token : TokenizeText(text)) {
    std::string item = token.lexeme + "@" + std::to_string(token.position);
    if (token.kind == Kind::kRunEnd) item += "$";
    if (token.kind == Kind::kCharacter) item += "!";
    out.push_back(std::move(item));
  }
  return out;
}

TEST(TokenizeTextTest, LatinWordsAreFoldedLikeStrings) {
  EXPECT_THAT(Tokens("Essential HYPERTENSION, Zoë Müller-Lüdenscheidt"),
              ElementsAre("essential@0", "hypertension@1", "zoe@2", "muller@3", "ludenscheidt@4"));
  EXPECT_THAT(Tokens("  BP 142/91 mmHg; 3.5 kg!  "),
              ElementsAre("bp@0", "142@1", "91@2", "mmhg@3", "3@4", "5@5", "kg@6"));
  EXPECT_THAT(Tokens("Ωμέγα Москва"), ElementsAre("ωμεγα@0", "москва@1"));
  EXPECT_TRUE(TokenizeText("").empty());
  EXPECT_TRUE(TokenizeText(" ,.;:!?-—…()[]{}<>\"'«»").empty());
}

TEST(TokenizeTextTest, FullWidthFormsAreNarrowed) {
  EXPECT_THAT(Tokens("ＢＰ１４２，ＯＫ"), ElementsAre("bp142@0", "ok@1"));
  EXPECT_EQ(Tokens("ＨＹＰＥＲ"), Tokens("hyper"));
}

TEST(TokenizeTextTest, ChineseRunsGiveOverlappingPairsAndTheirLastCharacter) {
  EXPECT_THAT(Tokens("原发性高血压病"),
              ElementsAre("原发@0", "发性@1", "性高@2", "高血@3", "血压@4", "压病@5", "病@6$"));
  EXPECT_THAT(Tokens("头痛"), ElementsAre("头痛@0", "痛@1$"));
  EXPECT_THAT(Tokens("痛"), ElementsAre("痛@0!"));
  // CJK punctuation and the ideographic space separate runs and take no position.
  EXPECT_THAT(Tokens("高血压、糖尿病。　咳"),
              ElementsAre("高血@0", "血压@1", "压@2$", "糖尿@3", "尿病@4", "病@5$", "咳@6!"));
  EXPECT_THAT(Tokens("“感冒”"), ElementsAre("感冒@0", "冒@1$"));
  // Kana and Hangul are CJK too.
  EXPECT_THAT(Tokens("カゼ 감기"), ElementsAre("カゼ@0", "ゼ@1$", "감기@2", "기@3$"));
}

TEST(TokenizeTextTest, MixedScriptsSplitAtTheChangeOfScript) {
  EXPECT_THAT(Tokens("2型糖尿病HbA1c偏高"), ElementsAre("2@0", "型糖@1", "糖尿@2", "尿病@3",
                                                        "病@4$", "hba1c@5", "偏高@6", "高@7$"));
  EXPECT_THAT(Tokens("２型"), ElementsAre("2@0", "型@1!"));
}

TEST(TokenizeTextTest, LongWordsAreCut) {
  const std::string word(100, 'a');
  auto tokens = TokenizeText(word + " b");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].lexeme, std::string(kMaxLexemeBytes, 'a'));
  // On a character boundary: 47 ASCII letters and a two-byte letter do not fit in 48 bytes.
  tokens = TokenizeText(std::string(47, 'a') + "ωω");
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].lexeme, std::string(47, 'a'));
}

TEST(NarrativeTextTest, MarkupIsRemovedAndReferencesDecoded) {
  EXPECT_EQ(
      NormalizeString(NarrativeText(
          R"(<div xmlns="http://www.w3.org/1999/xhtml"><p>Blood&#160;pressure &amp; pulse</p>)"
          R"(<table><tr><td title="a > b">高血压</td><td>病</td></tr></table>)"
          R"(<!-- hidden --><p>&lt;ok&gt; &#x4E2D;&#25991; &unknown;</p></div>)")),
      "blood pressure & pulse 高血压 病 <ok> 中文 &unknown;");
  // Inline elements do not separate words; block elements and line breaks do.
  EXPECT_EQ(NormalizeString(NarrativeText("<div><b>hyper</b>tension<br/>next<p>para</p></div>")),
            "hypertension next para");
  EXPECT_EQ(NormalizeString(NarrativeText("<div><span>高</span>血压</div>")), "高血压");
}

fhir::Resource Parse(std::string_view json) {
  auto resource = fhir::json::Parse(json, testing_support::Definitions());
  EXPECT_TRUE(resource.ok()) << resource.error().text();
  return resource.ok() ? std::move(*resource) : fhir::Resource();
}

const IndexEntries::Text* Document(const IndexEntries& entries, std::string_view param) {
  for (const IndexEntries::Text& text : entries.texts) {
    if (text.param == param) return &text;
  }
  return nullptr;
}

// "lexeme:1,3" for each lexeme of a document.
std::vector<std::string> Lexemes(const IndexEntries::Text* text) {
  std::vector<std::string> out;
  if (text == nullptr) return out;
  for (const auto& lexeme : text->lexemes) {
    std::string item = lexeme.text;
    for (size_t i = 0; i < lexeme.positions.size(); ++i) {
      item += (i == 0 ? ":" : ",") + std::to_string(lexeme.positions[i]);
    }
    out.push_back(std::move(item));
  }
  return out;
}

IndexEntries Extract(std::string_view json) {
  auto entries = ExtractIndex(testing_support::SearchRegistry(), Parse(json));
  EXPECT_TRUE(entries.ok()) << entries.error().text();
  return entries.ok() ? std::move(*entries) : IndexEntries();
}

TEST(ExtractFullTextTest, TextIsTheNarrativeAndContentEveryTextValue) {
  const IndexEntries entries = Extract(R"({"resourceType": "Condition", "id": "c1",
    "text": {"status": "generated",
             "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>原发性高血压</p></div>"},
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "59621000",
                         "display": "Essential hypertension"}], "text": "高血压"},
    "subject": {"reference": "Patient/p1", "display": "Zhang San"},
    "note": [{"text": "**Follow up** in 2 weeks"}],
    "onsetDateTime": "2024-03-01"})");
  EXPECT_THAT(
      Lexemes(Document(entries, "_text")),
      ::testing::UnorderedElementsAre("原发:1", "发性:2", "性高:3", "高血:4", "血压:5", "压:6"));
  const auto content = Lexemes(Document(entries, "_content"));
  // Each value's words, a position apart from the next value's; codes and display texts, the
  // narrative and markdown; not the id, the reference or the date.
  EXPECT_THAT(content, ::testing::IsSupersetOf({"generated:1", "59621000:10", "essential:12",
                                                "hypertension:13", "zhang:19", "san:20",
                                                "follow:22", "up:23", "weeks:26"}));
  EXPECT_THAT(content, ::testing::IsSupersetOf({"高血:6,15", "血压:7,16", "压:8,17"}));
  for (const char* absent : {"c1", "patient", "p1", "2024", "http", "snomed"}) {
    for (const std::string& lexeme : content) {
      EXPECT_FALSE(lexeme.starts_with(std::string(absent) + ":")) << lexeme;
    }
  }
}

TEST(ExtractFullTextTest, NoTextNoDocumentAndBundlesHaveNoNarrativeParameter) {
  const IndexEntries entries = Extract(R"({"resourceType": "Patient", "id": "p1"})");
  EXPECT_TRUE(entries.texts.empty());
  EXPECT_EQ(testing_support::SearchRegistry().Find("Bundle", "_text"), nullptr);
  const IndexEntries bundle = Extract(
      R"({"resourceType": "Bundle", "type": "collection", "entry": [{"resource":
        {"resourceType": "Patient", "name": [{"family": "王"}]}}]})");
  EXPECT_THAT(Lexemes(Document(bundle, "_content")), ElementsAre("collection:1", "王:3"));
}

TEST(ExtractFullTextTest, DocumentsAreCapped) {
  // A word 300 times, then 300 others over and over past the end.
  std::string words;
  for (int i = 0; i < 300; ++i) words += "same ";
  for (int i = 0; i < kMaxTextPositions; ++i) words += "w" + std::to_string(i % 300) + " ";
  const IndexEntries entries = Extract(R"({"resourceType": "Patient", "text": {"status":
    "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">)" +
                                       words + R"(</div>"}})");
  const IndexEntries::Text* text = Document(entries, "_text");
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->lexemes.size(), 301u);
  size_t positions = 0;
  for (const auto& lexeme : text->lexemes) {
    positions += lexeme.positions.size();
    EXPECT_LE(lexeme.positions.size(), kMaxLexemePositions);
    EXPECT_LE(lexeme.positions.back(), kMaxTextPositions);
  }
  EXPECT_EQ(positions, kMaxLexemePositions + kMaxTextPositions - 300);
}

fhir::Result<store::IndexCondition> Criterion(std::string_view name, std::string_view value) {
  const size_t colon = name.find(':');
  const SearchParam* param =
      testing_support::SearchRegistry().Find("Condition", name.substr(0, colon));
  EXPECT_NE(param, nullptr) << name;
  if (param == nullptr) return fhir::Error::Internal("test.no-param", std::string(name));
  return ParseCriterion(testing_support::Definitions(), *param,
                        colon == std::string_view::npos ? "" : name.substr(colon + 1), value,
                        store::Timestamp());
}

// Each term as "a@0 b@1" ('*' after a prefix), the terms joined by " & ", per alternative.
std::vector<std::string> Query(std::string_view name, std::string_view value) {
  auto condition = Criterion(name, value);
  EXPECT_TRUE(condition.ok()) << condition.error().text();
  std::vector<std::string> out;
  if (!condition.ok()) return out;
  EXPECT_EQ(condition->kind, store::IndexKind::kText);
  EXPECT_EQ(condition->param, name.substr(0, name.find(':')));
  for (const store::RowTest& test : condition->any) {
    std::string alternative;
    for (const auto& term : std::get<TextTest>(test).terms) {
      if (!alternative.empty()) alternative += " & ";
      std::string phrase;
      for (const TextTest::Lexeme& lexeme : term) {
        if (!phrase.empty()) phrase += ' ';
        phrase += lexeme.text + "@" + std::to_string(lexeme.position) + (lexeme.prefix ? "*" : "");
      }
      alternative += phrase;
    }
    out.push_back(std::move(alternative));
  }
  return out;
}

TEST(FullTextCriterionTest, WordsAllOccurAndChunksArePhrases) {
  EXPECT_THAT(Query("_text", "Essential  HYPERTENSION"),
              ElementsAre("essential@0 & hypertension@0"));
  EXPECT_THAT(Query("_content", "covid-19"), ElementsAre("covid@0 19@1"));
  // A run's pairs at their distances; the last character is left to the last pair.
  EXPECT_THAT(Query("_text", "高血压"), ElementsAre("高血@0 血压@1"));
  EXPECT_THAT(Query("_text", "高血压 糖尿病"), ElementsAre("高血@0 血压@1 & 糖尿@0 尿病@1"));
  // A lone character also starts pairs: 痛 in 头痛 is the run's last character, in 痛感 a pair.
  EXPECT_THAT(Query("_text", "痛"), ElementsAre("痛@0*"));
  EXPECT_THAT(Query("_text", "2型"), ElementsAre("2@0 型@1*"));
}

TEST(FullTextCriterionTest, QuotesMakePhrasesAndAStarAPrefix) {
  EXPECT_THAT(Query("_text", "\"blood pressure\" high"),
              ElementsAre("blood@0 pressure@1 & high@0"));
  // Chinese quotation marks, full-width quotes, and a phrase across runs keeps its distances.
  EXPECT_THAT(Query("_text", "“高血压 病史”"), ElementsAre("高血@0 血压@1 病史@3"));
  EXPECT_THAT(Query("_text", "＂a b＂"), ElementsAre("a@0 b@1"));
  // An unclosed quote runs to the end.
  EXPECT_THAT(Query("_text", "x \"a b"), ElementsAre("x@0 & a@0 b@1"));
  EXPECT_THAT(Query("_text", "hyper*"), ElementsAre("hyper@0*"));
  EXPECT_THAT(Query("_text", "blood pres*"), ElementsAre("blood@0 & pres@0*"));
  EXPECT_THAT(Query("_text", "\"pres*\""), ElementsAre("pres@0"));
}

TEST(FullTextCriterionTest, CommasAreAlternativesAndModifiers) {
  EXPECT_THAT(Query("_text", "头痛,fever"), ElementsAre("头痛@0", "fever@0"));
  EXPECT_THAT(Query("_text", "a\\,b"), ElementsAre("a@0 b@1"));
  auto negated = Criterion("_text:not", "fever");
  ASSERT_TRUE(negated.ok());
  EXPECT_TRUE(negated->negate);
  auto missing = Criterion("_content:missing", "true");
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->negate);
  EXPECT_TRUE(missing->any.empty());
  EXPECT_EQ(missing->kind, store::IndexKind::kText);
  for (const char* modifier : {"_text:exact", "_text:contains", "_content:text"}) {
    auto refused = Criterion(modifier, "x");
    ASSERT_FALSE(refused.ok()) << modifier;
    EXPECT_EQ(refused.error().message_id(), "search.unsupported-modifier");
  }
}

TEST(FullTextCriterionTest, ValuesWithoutWordsAreRefused) {
  for (const char* value : {"", "!!", "fever,", "。、", "\"\""}) {
    auto refused = Criterion("_text", value);
    ASSERT_FALSE(refused.ok()) << value;
    EXPECT_EQ(refused.error().message_id(), "search.invalid-value") << value;
    EXPECT_EQ(refused.error().issues()[0].expression, "_text");
  }
  std::string many;
  for (int i = 0; i < 65; ++i) many += "w" + std::to_string(i) + " ";
  EXPECT_FALSE(Criterion("_content", many).ok());
}

TEST(FullTextCriterionTest, OperatorsInTheValueAreJustText) {
  // tsquery syntax in the input is punctuation to the tokenizer: only words come through.
  EXPECT_THAT(Query("_text", "a & !b | c:* <-> 'd'"), ElementsAre("a@0 & b@0 & c@0* & d@0"));
}

}  // namespace
}  // namespace server::search
