#include "fhir/xml/xml.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"

namespace fhir::xml {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

constexpr std::string_view kNs = R"( xmlns="http://hl7.org/fhir")";

Result<Resource> ParseXml(std::string_view xml, const ParseOptions& options = {}) {
  return Parse(xml, testing_support::Definitions(), options);
}

// "<Patient xmlns=...>" + body + "</Patient>"
std::string Patient(std::string_view body) {
  return "<Patient" + std::string(kNs) + ">" + std::string(body) + "</Patient>";
}

// (message id, expression) of every issue.
template <typename T>
std::vector<std::pair<std::string, std::string>> Issues(const Result<T>& result) {
  std::vector<std::pair<std::string, std::string>> out;
  if (result.ok()) return out;
  for (const Issue& issue : result.error().issues()) {
    out.emplace_back(issue.message_id, issue.expression);
  }
  return out;
}

std::string AllText(const Error& error) {
  std::string out;
  for (const Issue& issue : error.issues()) out += issue.text + "\n";
  return out;
}

std::string ReadValidatorCase(std::string_view name) {
  return testing_support::ReadFile(testing_support::TestDataDir() / "validator-fmt" /
                                   std::string(name));
}

TEST(XmlParseTest, BuildsTheDomWithAttributesExtensionsAndChoices) {
  auto parsed = ParseXml(Patient(R"(
      <id value="p1"/>
      <extension url="http://example.org/ext">
        <valueString value="x"/>
      </extension>
      <active value="true"/>
      <name>
        <family value="王"/>
        <given id="g1" value="小明">
          <extension url="http://example.org/given-ext"><valueInteger value="3"/></extension>
        </given>
        <given value="Second"/>
      </name>
      <deceasedBoolean value="false"/>)"));
  ASSERT_TRUE(parsed.ok()) << AllText(parsed.error());
  const Node* root = parsed->root();
  EXPECT_EQ(parsed->resource_type(), "Patient");
  EXPECT_EQ(root->Child("id")->value, "p1");
  const Node* extension = root->Child("extension");
  EXPECT_EQ(extension->Child("url")->value, "http://example.org/ext");
  EXPECT_EQ(extension->Child("value")->type->name, "string");
  EXPECT_EQ(extension->Child("value")->value, "x");
  const Node* name = root->Child("name");
  EXPECT_EQ(name->Child("family")->value, "王");
  auto given = name->Children("given");
  ASSERT_EQ(given.size(), 2u);
  EXPECT_EQ(given[0]->value, "小明");
  EXPECT_EQ(given[0]->Child("id")->value, "g1");
  EXPECT_EQ(given[0]->Child("extension")->Child("value")->value, "3");
  EXPECT_EQ(given[1]->value, "Second");
  EXPECT_EQ(root->Child("deceased")->JsonName(), "deceasedBoolean");
}

TEST(XmlParseTest, ReadsContainedResourcesAndBundleEntries) {
  auto parsed = ParseXml(R"(<Bundle xmlns="http://hl7.org/fhir">
      <type value="collection"/>
      <entry>
        <fullUrl value="urn:uuid:1"/>
        <resource>
          <Patient>
            <contained><Organization><name value="Org"/></Organization></contained>
            <managingOrganization><reference value="#o"/></managingOrganization>
          </Patient>
        </resource>
      </entry>
    </Bundle>)");
  ASSERT_TRUE(parsed.ok()) << AllText(parsed.error());
  const Node* resource = parsed->root()->Child("entry")->Child("resource");
  ASSERT_NE(resource, nullptr);
  EXPECT_EQ(resource->type->name, "Patient");
  EXPECT_EQ(resource->name(), "resource");
  const Node* contained = resource->Child("contained");
  EXPECT_EQ(contained->type->name, "Organization");
  EXPECT_EQ(contained->Child("name")->value, "Org");
}

TEST(XmlParseTest, KeepsNarrativeAsCanonicalXhtmlMarkup) {
  auto parsed =
      ParseXml(Patient(R"(<text><status value="generated"/>)"
                       R"(<h:div xmlns:h="http://www.w3.org/1999/xhtml" xml:lang="zh">)"
                       R"(<h:p class="a&amp;b" title='q"t'>x &lt; y &amp; "z" &gt; 'w' 中文)"
                       R"(<!-- dropped --><?pi dropped?><![CDATA[<c>]]></h:p><h:br/>)"
                       R"(<h:td></h:td></h:div></text>)"));
  ASSERT_TRUE(parsed.ok()) << AllText(parsed.error());
  EXPECT_EQ(parsed->root()->Child("text")->Child("div")->value,
            R"(<div xmlns="http://www.w3.org/1999/xhtml" xml:lang="zh">)"
            R"(<p class="a&amp;b" title="q&quot;t">x &lt; y &amp; &quot;z&quot; &gt; 'w' 中文)"
            R"(&lt;c&gt;</p><br/><td/></div>)");
}

TEST(XmlParseTest, DeclaresPrefixesOfNarrativeAttributes) {
  auto parsed = ParseXml(Patient(R"(<text><status value="generated"/>)"
                                 R"(<div xmlns="http://www.w3.org/1999/xhtml">)"
                                 R"(<a xmlns:l="urn:link" l:href="x">t</a></div></text>)"));
  ASSERT_TRUE(parsed.ok()) << AllText(parsed.error());
  EXPECT_EQ(parsed->root()->Child("text")->Child("div")->value,
            R"(<div xmlns="http://www.w3.org/1999/xhtml"><a xmlns:l="urn:link" l:href="x">t</a>)"
            R"(</div>)");
}

TEST(XmlParseTest, IgnoresCommentsProcessingInstructionsWhitespaceAndSchemaLocation) {
  auto parsed = ParseXml(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><?pi x?>\n"
      R"(<Patient xmlns="http://hl7.org/fhir" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance")"
      R"( xsi:schemaLocation="http://hl7.org/fhir ../patient.xsd">)"
      "\n\t<!-- comment --> <?pi y?>\r\n<gender value=\"male\"/>  </Patient>\n<!-- after -->");
  ASSERT_TRUE(parsed.ok()) << AllText(parsed.error());
  EXPECT_EQ(parsed->root()->children.size(), 1u);
  EXPECT_EQ(parsed->root()->Child("gender")->value, "male");
}

TEST(XmlParseTest, DecodesReferencesInAttributeValues) {
  auto parsed = ParseXml(Patient(
      R"(<name><text value="a&amp;b&#38;c&amp;#38;d&lt;&gt;&quot;&apos;&#10;&#x9;&#13;e  f"/></name>)"));
  ASSERT_TRUE(parsed.ok()) << AllText(parsed.error());
  EXPECT_EQ(parsed->root()->Child("name")->Child("text")->value, "a&b&c&#38;d<>\"'\n\t\re  f");
}

TEST(XmlParseTest, ResourceIdIsAnElementAndElementIdAnAttribute) {
  EXPECT_THAT(Issues(ParseXml(R"(<Patient xmlns="http://hl7.org/fhir" id="x"/>)")),
              ElementsAre(Pair("xml.unknown-attribute", "Patient")));
  EXPECT_THAT(Issues(ParseXml(Patient(R"(<name><id value="n"/><family value="F"/></name>)"))),
              ElementsAre(Pair("xml.unknown-element", "Patient.name[0].id")));
  EXPECT_THAT(Issues(ParseXml(Patient(R"(<extension><url value="u"/></extension>)"))),
              Contains(Pair("xml.unknown-element", "Patient.extension[0].url")));
}

TEST(XmlParseTest, ReportsEveryFaultWithLocationAndMessageId) {
  auto parsed = ParseXml(Patient(R"(
      <active value="yes"/>
      <name><given value="a"/><foo value="b"/></name>
      <name><given value="c"/><given value=""/><given>text</given></name>
      <gender value="male" bar="1"/>
      <gender value="female"/>
      <birthDate value="1970-13-01"/>
      <telecom><value value="1"/></telecom>
      <address/>
      <contact xmlns="urn:other"/>)"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().http_status(), 400);
  EXPECT_THAT(Issues(parsed), ElementsAre(Pair("xml.invalid-primitive", "Patient.active"),
                                          Pair("xml.unknown-element", "Patient.name[0].foo"),
                                          Pair("xml.empty-value", "Patient.name[1].given[1]"),
                                          Pair("xml.text", "Patient.name[1].given[2]"),
                                          Pair("xml.unknown-attribute", "Patient.gender"),
                                          Pair("xml.expected-single", "Patient.gender"),
                                          Pair("xml.invalid-primitive", "Patient.birthDate"),
                                          Pair("xml.order", "Patient.telecom[0]"),
                                          Pair("xml.empty-element", "Patient.address[0]"),
                                          Pair("xml.namespace", "Patient.contact")));
  // Messages name the rule, never the offending value.
  EXPECT_THAT(AllText(parsed.error()), Not(HasSubstr("1970-13-01")));
  EXPECT_THAT(AllText(parsed.error()), Not(HasSubstr("yes")));
}

TEST(XmlParseTest, AllowOutOfOrderPutsElementsBackInDefinitionOrder) {
  const std::string xml =
      Patient(R"(<gender value="male"/><name><given value="b"/><family value="F"/></name>)"
              R"(<active value="true"/><name><family value="G"/></name><id value="p"/>)");
  EXPECT_THAT(Issues(ParseXml(xml)), Contains(Pair("xml.order", "Patient.active")));

  auto parsed = ParseXml(xml, {.allow_out_of_order = true});
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  std::vector<std::string> names;
  for (const Node* child : parsed->root()->children) names.push_back(child->def->name);
  EXPECT_THAT(names, ElementsAre("id", "active", "name", "name", "gender"));
  EXPECT_EQ(json::Write(*parsed),
            R"({"resourceType":"Patient","id":"p","active":true,)"
            R"("name":[{"family":"F","given":["b"]},{"family":"G"}],"gender":"male"})");
}

TEST(XmlParseTest, AllowOutOfOrderStillRefusesARepeatedSingleElement) {
  auto parsed = ParseXml(Patient(R"(<gender value="male"/><active value="true"/>)"
                                 R"(<active value="false"/>)"),
                         {.allow_out_of_order = true});
  EXPECT_THAT(Issues(parsed), ElementsAre(Pair("xml.expected-single", "Patient.active")));
}

TEST(XmlParseTest, ReportsFaultsInsideContainedResources) {
  EXPECT_THAT(Issues(ParseXml(Patient(R"(<contained><Patient><foo/></Patient></contained>)"
                                      R"(<contained><Unknown/></contained><contained/>)"
                                      R"(<contained><Basic/><Basic/></contained>)"))),
              ElementsAre(Pair("xml.unknown-element", "Patient.contained[0].foo"),
                          Pair("xml.unknown-resource", "Patient.contained[1].Unknown"),
                          Pair("xml.empty-element", "Patient.contained[2]"),
                          Pair("xml.expected-single", "Patient.contained[3].Basic")));
}

TEST(XmlParseTest, RejectsWrongRootElements) {
  EXPECT_THAT(Issues(ParseXml("<Patient><gender value=\"male\"/></Patient>")),
              ElementsAre(Pair("xml.namespace", "Patient")));
  EXPECT_THAT(Issues(ParseXml(R"(<Resource xmlns="http://hl7.org/fhir"/>)")),
              ElementsAre(Pair("xml.unknown-resource", "Resource")));
  EXPECT_THAT(Issues(ParseXml(R"(<HumanName xmlns="http://hl7.org/fhir"/>)")),
              ElementsAre(Pair("xml.unknown-resource", "HumanName")));
}

TEST(XmlParseTest, RejectsNarrativeOutsideTheXhtmlNamespace) {
  EXPECT_THAT(Issues(ParseXml(Patient(R"(<text><status value="generated"/><div>x</div></text>)"))),
              ElementsAre(Pair("xml.namespace", "Patient.text.div")));
  EXPECT_THAT(
      Issues(ParseXml(Patient(R"(<text><status value="generated"/>)"
                              R"(<div xmlns="http://www.w3.org/1999/xhtml"><p xmlns="urn:x"/>)"
                              R"(</div></text>)"))),
      ElementsAre(Pair("xml.namespace", "Patient.text.div")));
}

TEST(XmlParseTest, ReportsMalformedXml) {
  EXPECT_THAT(Issues(ParseXml(Patient("<gender value=\"male\"></active>"))),
              Contains(Pair("xml.syntax", "Patient.gender")));
  EXPECT_THAT(Issues(ParseXml("")), ElementsAre(Pair("xml.syntax", "")));
  EXPECT_THAT(Issues(ParseXml("not xml")), Contains(Pair("xml.syntax", "")));
  EXPECT_THAT(Issues(ParseXml(Patient("") + "<Patient/>")), Contains(Pair("xml.syntax", "")));
  EXPECT_THAT(Issues(ParseXml(Patient("<gender value=\"&unknown;\"/>"))),
              Contains(Pair("xml.syntax", "Patient")));
}

TEST(XmlParseTest, ReportsTruncatedDocuments) {
  const std::string full = Patient(R"(<name><family value="F"/></name>)");
  for (size_t size = 1; size < full.size(); ++size) {
    auto parsed = ParseXml(std::string_view(full).substr(0, size));
    ASSERT_FALSE(parsed.ok()) << size;
    EXPECT_THAT(Issues(parsed), Contains(Pair("xml.syntax", ::testing::_))) << size;
  }
}

TEST(XmlParseTest, RejectsInvalidUtf8WithoutEchoingIt) {
  auto parsed = ParseXml(Patient("<name><family value=\"ab\xC3\x28\xFF\"/></name>"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message_id(), "xml.syntax");
  EXPECT_THAT(parsed.error().text(), HasSubstr("UTF-8"));
  EXPECT_THAT(parsed.error().text(), Not(HasSubstr("0xC3")));
}

TEST(XmlParseTest, AcceptsChineseText) {
  auto parsed = ParseXml(Patient(R"(<name><family value="张"/><given value="三丰"/></name>)"
                                 R"(<address><city value="北京市"/></address>)"));
  ASSERT_TRUE(parsed.ok()) << AllText(parsed.error());
  EXPECT_EQ(parsed->root()->Child("address")->Child("city")->value, "北京市");
  EXPECT_THAT(Write(*parsed), HasSubstr(R"(<family value="张"/><given value="三丰"/>)"));
}

TEST(XmlSecurityTest, RejectsDoctypeDeclarations) {
  EXPECT_THAT(Issues(ParseXml("<!DOCTYPE Patient>" + Patient(""))),
              ElementsAre(Pair("xml.dtd", "")));
  EXPECT_THAT(Issues(ParseXml(R"(<!DOCTYPE Patient SYSTEM "http://127.0.0.1:1/patient.dtd">)" +
                              Patient(""))),
              ElementsAre(Pair("xml.dtd", "")));
}

TEST(XmlSecurityTest, DoesNotReadExternalEntities) {
  auto parsed = ParseXml(R"(<?xml version="1.0"?>
      <!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
      <Patient xmlns="http://hl7.org/fhir"><name><family value="&xxe;"/></name></Patient>)");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message_id(), "xml.dtd");
  EXPECT_THAT(AllText(parsed.error()), Not(HasSubstr("root:")));

  auto parameter = ParseXml(
      R"(<!DOCTYPE Patient [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>)" + Patient(""));
  ASSERT_FALSE(parameter.ok());
  EXPECT_EQ(parameter.error().message_id(), "xml.dtd");
}

// Refused at the DTD, before any entity could be expanded.
TEST(XmlSecurityTest, RejectsBillionLaughs) {
  std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    doc += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j)
      doc += "&lol" + (i == 1 ? std::string() : std::to_string(i - 1)) + ";";
    doc += "\">\n";
  }
  doc +=
      "]>\n<Patient xmlns=\"http://hl7.org/fhir\"><name><family value=\"&lol9;\"/></name>"
      "</Patient>";
  auto parsed = ParseXml(doc);
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(Issues(parsed), ElementsAre(Pair("xml.dtd", "")));
}

TEST(XmlSecurityTest, DoesNotProcessXInclude) {
  auto parsed = ParseXml(Patient(R"(<xi:include xmlns:xi="http://www.w3.org/2001/XInclude")"
                                 R"( href="file:///etc/passwd" parse="text"/>)"));
  EXPECT_THAT(Issues(parsed), ElementsAre(Pair("xml.unknown-element", "Patient.include")));
}

TEST(XmlLimitsTest, RejectsDeepNestingWithoutRecursing) {
  std::string doc = Patient("");
  doc.resize(doc.size() - std::string_view("</Patient>").size());
  constexpr int kLevels = 100000;
  for (int i = 0; i < kLevels; ++i) doc += "<extension url=\"u\">";
  for (int i = 0; i < kLevels; ++i) doc += "</extension>";
  doc += "</Patient>";
  auto parsed = ParseXml(doc);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message_id(), "xml.too-deep");
  EXPECT_THAT(parsed.error().issues().front().expression,
              HasSubstr("Patient.extension[0].extension[0].extension[0]"));

  ParseOptions shallow;
  shallow.max_depth = 3;
  EXPECT_TRUE(ParseXml(Patient(R"(<name><family value="F"/></name>)"), shallow).ok());
  EXPECT_THAT(Issues(ParseXml(Patient(R"(<name><family value="F"><extension url="u"/></family>)"
                                      R"(</name>)"),
                              shallow)),
              ElementsAre(Pair("xml.too-deep", "Patient.name[0].family.extension")));
}

TEST(XmlLimitsTest, RejectsDocumentsLargerThanTheLimit) {
  ParseOptions small;
  small.max_bytes = 64;
  const std::string doc = Patient(R"(<name><family value="A family name"/></name>)");
  ASSERT_GT(doc.size(), 64u);
  auto parsed = ParseXml(doc, small);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().message_id(), "xml.too-large");
  EXPECT_EQ(parsed.error().http_status(), 400);
}

TEST(XmlLimitsTest, ParsesAttributeValuesBeyondTenMegabytes) {
  // libxml2 caps a single value at 10 MB unless told otherwise; attachments can be larger.
  std::string data(12u << 20, 'A');
  auto parsed = ParseXml(R"(<Binary xmlns="http://hl7.org/fhir"><contentType value="text/plain"/>)"
                         R"(<data value=")" +
                         data + R"("/></Binary>)");
  ASSERT_TRUE(parsed.ok()) << AllText(parsed.error());
  EXPECT_EQ(parsed->root()->Child("data")->value.size(), data.size());
}

TEST(XmlLimitsTest, StopsAtMaxIssues) {
  std::string body;
  for (int i = 0; i < 50; ++i) body += "<foo/>";
  ParseOptions options;
  options.max_issues = 5;
  auto parsed = ParseXml(Patient(body), options);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().issues().size(), 5u);
}

TEST(XmlWriteTest, WritesCompactFhirXml) {
  auto parsed = ParseXml(Patient(R"(
      <id value="p1"/>
      <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></div></text>
      <contained><Organization><id value="o"/></Organization></contained>
      <name id="n"><given value="a"><extension url="u"><valueCode value="c"/></extension></given></name>
      <deceasedBoolean value="false"/>)"));
  ASSERT_TRUE(parsed.ok()) << AllText(parsed.error());
  EXPECT_EQ(Write(*parsed),
            R"(<Patient xmlns="http://hl7.org/fhir"><id value="p1"/><text>)"
            R"(<status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p>)"
            R"(</div></text><contained><Organization><id value="o"/></Organization></contained>)"
            R"(<name id="n"><given value="a"><extension url="u"><valueCode value="c"/>)"
            R"(</extension></given></name><deceasedBoolean value="false"/></Patient>)");
  EXPECT_EQ(Write(*parsed, {.pretty = true}),
            "<Patient xmlns=\"http://hl7.org/fhir\">\n"
            "  <id value=\"p1\"/>\n"
            "  <text>\n"
            "    <status value=\"generated\"/>\n"
            "    <div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Hi</p></div>\n"
            "  </text>\n"
            "  <contained>\n"
            "    <Organization>\n"
            "      <id value=\"o\"/>\n"
            "    </Organization>\n"
            "  </contained>\n"
            "  <name id=\"n\">\n"
            "    <given value=\"a\">\n"
            "      <extension url=\"u\">\n"
            "        <valueCode value=\"c\"/>\n"
            "      </extension>\n"
            "    </given>\n"
            "  </name>\n"
            "  <deceasedBoolean value=\"false\"/>\n"
            "</Patient>\n");
}

TEST(XmlWriteTest, EscapesAttributeValuesSoTheyRoundTrip) {
  Resource patient;
  const auto& defs = testing_support::Definitions();
  patient.set_root(patient.NewNode(nullptr, defs.FindResource("Patient")));
  Node* name = patient.AddChild(patient.root(), "name");
  patient.AddPrimitive(name, "text", "a&b <c> \"d\" 'e'\n\tf\r\ng");
  const std::string xml = Write(patient);
  EXPECT_THAT(
      xml,
      HasSubstr(R"(<text value="a&amp;b &lt;c&gt; &quot;d&quot; 'e'&#10;&#9;f&#13;&#10;g"/>)"));
  auto reparsed = ParseXml(xml);
  ASSERT_TRUE(reparsed.ok()) << AllText(reparsed.error());
  EXPECT_EQ(reparsed->root()->Child("name")->Child("text")->value, "a&b <c> \"d\" 'e'\n\tf\r\ng");
}

TEST(XmlWriteTest, WritesNothingForAnEmptyResource) { EXPECT_EQ(Write(Resource()), ""); }

TEST(XmlWriteTest, RoundTripsThroughTheDom) {
  const std::string doc = Patient(
      R"(<id value="x"/><meta><versionId value="1"/></meta>)"
      R"(<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">)"
      R"(<table><tr><td>a &amp; b</td><td/></tr></table></div></text>)"
      R"(<identifier><system value="urn:oid:1.2.3"/><value value="123"/></identifier>)"
      R"(<name><family value="F"/><given value="G"/><given value="H"/></name>)"
      R"(<birthDate id="bd"><extension url="http://example.org/x"><valueDecimal value="1.50"/>)"
      R"(</extension></birthDate>)");
  auto first = ParseXml(doc);
  ASSERT_TRUE(first.ok()) << AllText(first.error());
  const std::string written = Write(*first);
  EXPECT_EQ(written, doc);
  auto second = ParseXml(Write(*first, {.pretty = true}));
  ASSERT_TRUE(second.ok()) << AllText(second.error());
  EXPECT_EQ(Write(*second), written);
}

TEST(XmlXhtmlTest, CanonicalisesNarrativeMarkup) {
  auto canonical = CanonicalXhtml(
      "<div xmlns='http://www.w3.org/1999/xhtml'><p a='x\r\ny'>a\r\nb</p><td></td>"
      "<!-- c --><br></br></div>");
  ASSERT_TRUE(canonical.ok()) << AllText(canonical.error());
  EXPECT_EQ(*canonical, R"(<div xmlns="http://www.w3.org/1999/xhtml"><p a="x y">a)"
                        "\n"
                        R"(b</p><td/><br/></div>)");
  const std::string already = *canonical;
  EXPECT_EQ(*CanonicalXhtml(already), already);
}

TEST(XmlXhtmlTest, RejectsMarkupThatIsNotOneXhtmlDiv) {
  auto issues = [](std::string_view markup) { return Issues(CanonicalXhtml(markup)); };
  EXPECT_THAT(issues(R"(<div xmlns="http://www.w3.org/1999/xhtml">&nbsp;</div>)"),
              ElementsAre(Pair("xml.syntax", "")));
  EXPECT_THAT(issues(R"(<div xmlns="http://www.w3.org/1999/xhtml"><p></div>)"),
              Contains(Pair("xml.syntax", ::testing::_)));
  EXPECT_THAT(issues(R"(<div xmlns="http://www.w3.org/1999/xhtml"/><div/>)"),
              Contains(Pair("xml.syntax", ::testing::_)));
  EXPECT_THAT(issues("<div>x</div>"), ElementsAre(Pair("xml.namespace", "")));
  EXPECT_THAT(issues(R"(<p xmlns="http://www.w3.org/1999/xhtml">x</p>)"),
              ElementsAre(Pair("xml.namespace", "")));
  EXPECT_THAT(issues(R"(<!DOCTYPE div><div xmlns="http://www.w3.org/1999/xhtml"/>)"),
              ElementsAre(Pair("xml.dtd", "")));
  EXPECT_THAT(issues("x"), Contains(Pair("xml.syntax", "")));
}

TEST(XmlWriteTest, WritesNarrativeThatIsNotWellFormedAsText) {
  const auto& defs = testing_support::Definitions();
  Resource patient;
  patient.set_root(patient.NewNode(nullptr, defs.FindResource("Patient")));
  Node* text = patient.AddChild(patient.root(), "text");
  patient.AddPrimitive(text, "status", "generated");
  const std::string injected =
      R"(<div xmlns="http://www.w3.org/1999/xhtml"></div><active value="false"/>)"
      R"(<div xmlns="http://www.w3.org/1999/xhtml">)";
  patient.AddPrimitive(text, "div", injected);
  const std::string xml = Write(patient);
  auto reparsed = ParseXml(xml);
  ASSERT_TRUE(reparsed.ok()) << AllText(reparsed.error());
  EXPECT_EQ(reparsed->root()->Child("active"), nullptr);
  const std::string_view div = reparsed->root()->Child("text")->Child("div")->value;
  EXPECT_THAT(div, HasSubstr("&lt;active value=&quot;false&quot;/&gt;"));

  // Well-formed markup from JSON goes in as markup, in canonical form.
  text->Child("div")->value =
      patient.Intern("<div xmlns=\"http://www.w3.org/1999/xhtml\"><td></td>\"x\"</div>");
  EXPECT_THAT(Write(patient),
              HasSubstr(R"(<div xmlns="http://www.w3.org/1999/xhtml"><td/>&quot;x&quot;</div>)"));
}

// The format cases of the FHIR validator test suite (tests/data/validator-fmt/SOURCE.txt).
TEST(XmlValidatorCasesTest, RejectsTextBetweenElements) {
  auto parsed = ParseXml(ReadValidatorCase("xml-fail.xml"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(Issues(parsed), Contains(Pair("xml.text", "Bundle")));
}

TEST(XmlValidatorCasesTest, RejectsUnknownAttributeAndChildOfPrimitive) {
  auto parsed = ParseXml(ReadValidatorCase("Observation-ex-pain.xml"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(Issues(parsed),
              ElementsAre(Pair("xml.unknown-attribute", "Observation.status"),
                          Pair("xml.unknown-element", "Observation.valueInteger.value")));
}

TEST(XmlValidatorCasesTest, JsonFormatCasesAreRejected) {
  const auto& defs = testing_support::Definitions();
  EXPECT_THAT(Issues(json::Parse(ReadValidatorCase("Observation-ex-pain.json"), defs)),
              ElementsAre(Pair("json.unknown-element", "Observation.valueInteger.value")));
  EXPECT_THAT(Issues(json::Parse(ReadValidatorCase("bad-json-close-1.json"), defs)),
              ElementsAre(Pair("json.syntax", ::testing::_)));
}

}  // namespace
}  // namespace fhir::xml
