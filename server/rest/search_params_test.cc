#include "server/rest/search_params.h"

#include <gtest/gtest.h>

namespace server::rest {
namespace {

using std::chrono::microseconds;
using namespace std::chrono_literals;

store::Timestamp At(long long micros) { return store::Timestamp(microseconds(micros)); }
// 2024-03-01T00:00:00Z
constexpr long long kMarch1 = 1'709'251'200'000'000;
const store::Timestamp kNow = At(kMarch1 + 86'400'000'000LL * 10);

TEST(QueryStringTest, DecodesPairs) {
  auto parsed = ParseQueryString("?_id=a%2Cb&name=Wang+Fang&flag&_lastUpdated=ge2024");
  ASSERT_TRUE(parsed.ok());
  QueryParams expected = {
      {"_id", "a,b"}, {"name", "Wang Fang"}, {"flag", ""}, {"_lastUpdated", "ge2024"}};
  EXPECT_EQ(*parsed, expected);
  EXPECT_EQ(ParseQueryString("a=%E5%BC%A0")->front().second, "张");
  EXPECT_FALSE(ParseQueryString("a=%zz").ok());
  EXPECT_FALSE(ParseQueryString("a=%4").ok());
  EXPECT_EQ(PercentEncode("a b,张"), "a%20b%2C%E5%BC%A0");
}

TEST(TimeRangeTest, EachPrecisionIsARange) {
  auto year = ParseTimeRange("2024", "_lastUpdated");
  ASSERT_TRUE(year.ok());
  EXPECT_EQ(year->begin, At(1'704'067'200'000'000));  // 2024-01-01
  EXPECT_EQ(year->end, At(1'735'689'600'000'000));    // 2025-01-01
  auto month = ParseTimeRange("2024-02", "x");
  EXPECT_EQ(month->begin, At(1'706'745'600'000'000));
  EXPECT_EQ(month->end, At(kMarch1));  // a leap February
  auto day = ParseTimeRange("2024-03-01", "x");
  EXPECT_EQ(day->begin, At(kMarch1));
  EXPECT_EQ(day->end, At(kMarch1) + 24h);
  auto minute = ParseTimeRange("2024-03-01T08:30+08:00", "x");
  EXPECT_EQ(minute->begin, At(kMarch1) + 30min);
  EXPECT_EQ(minute->end, At(kMarch1) + 31min);
  auto second = ParseTimeRange("2024-03-01T00:00:07Z", "x");
  EXPECT_EQ(second->begin, At(kMarch1) + 7s);
  EXPECT_EQ(second->end, At(kMarch1) + 8s);
  auto fraction = ParseTimeRange("2024-03-01T00:00:07.25Z", "x");
  EXPECT_EQ(fraction->begin, At(kMarch1) + 7250ms);
  EXPECT_EQ(fraction->end, At(kMarch1) + 7260ms);
  auto micro = ParseTimeRange("2024-03-01T00:00:07.000001Z", "x");
  EXPECT_EQ(micro->end - micro->begin, 1us);
  auto no_zone = ParseTimeRange("2024-03-01T00:00:07", "x");
  EXPECT_EQ(no_zone->begin, At(kMarch1) + 7s);
}

TEST(TimeRangeTest, RejectsWhatIsNotADate) {
  for (const char* bad : {"", "24", "2024-13", "2024-02-30", "2024-03-01T25:00Z", "2024-03-01T10",
                          "2024-03-01T10:00:00+1", "2024-03-01T10:00:00.Z", "2024-03-01 10:00",
                          "2024-03-01T10:00:60Z", "x2024"}) {
    auto parsed = ParseTimeRange(bad, "_lastUpdated");
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().message_id(), "search.invalid-date") << bad;
    EXPECT_EQ(parsed.error().http_status(), 400);
    EXPECT_EQ(parsed.error().issues()[0].expression, "_lastUpdated");
  }
}

TEST(ParseSearchTest, IdAlternativesAndRepeats) {
  auto parsed = ParseSearch("Patient", {{"_id", "a,b,c"}, {"_id", "b,c,d"}}, false, kNow);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->query.type, "Patient");
  ASSERT_TRUE(parsed->query.ids.has_value());
  EXPECT_EQ(*parsed->query.ids, (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(parsed->applied, "_id=a%2Cb%2Cc&_id=b%2Cc%2Cd");
  EXPECT_FALSE(ParseSearch("Patient", {}, false, kNow)->query.ids.has_value());
}

TEST(ParseSearchTest, LastUpdatedPrefixes) {
  const store::Timestamp begin = At(kMarch1);
  const store::Timestamp end = begin + 24h;
  auto interval = [&](const char* value) {
    auto parsed = ParseSearch("Patient", {{"_lastUpdated", value}}, false, kNow);
    EXPECT_TRUE(parsed.ok()) << value;
    EXPECT_EQ(parsed->query.last_updated.size(), 1u);
    EXPECT_EQ(parsed->query.last_updated[0].size(), 1u);
    return parsed->query.last_updated[0][0];
  };
  auto eq = interval("2024-03-01");
  EXPECT_EQ(eq.from, begin);
  EXPECT_EQ(eq.before, end);
  EXPECT_FALSE(eq.negate);
  EXPECT_EQ(interval("eq2024-03-01").before, end);
  EXPECT_TRUE(interval("ne2024-03-01").negate);
  EXPECT_EQ(interval("gt2024-03-01").from, end);
  EXPECT_FALSE(interval("gt2024-03-01").before.has_value());
  EXPECT_EQ(interval("sa2024-03-01").from, end);
  EXPECT_EQ(interval("ge2024-03-01").from, begin);
  EXPECT_EQ(interval("lt2024-03-01").before, begin);
  EXPECT_EQ(interval("eb2024-03-01").before, begin);
  EXPECT_EQ(interval("le2024-03-01").before, end);
  EXPECT_FALSE(interval("le2024-03-01").from.has_value());
  // ap: 10% of the distance to now on each side (ten days away: one day).
  auto ap = interval("ap2024-03-01");
  EXPECT_EQ(ap.from, begin - 24h);
  EXPECT_EQ(ap.before, end + std::chrono::duration_cast<microseconds>(24h) * 9 / 10);
}

TEST(ParseSearchTest, LastUpdatedCommasAreAlternativesRepeatsAreAnd) {
  auto parsed = ParseSearch(
      "Observation", {{"_lastUpdated", "lt2024,gt2025"}, {"_lastUpdated", "ne2030"}}, false, kNow);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->query.last_updated.size(), 2u);
  EXPECT_EQ(parsed->query.last_updated[0].size(), 2u);
  EXPECT_EQ(parsed->query.last_updated[1].size(), 1u);
}

TEST(ParseSearchTest, ResultParametersAreRead) {
  auto parsed =
      ParseSearch("Patient", {{"_count", "5"}, {"_cursor", "p9"}, {"_format", "xml"}}, false, kNow);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->query.count, 5);
  EXPECT_EQ(parsed->query.after, std::optional<std::string>("p9"));
  EXPECT_EQ(parsed->applied, "");
  for (const char* bad : {"0", "1001", "x", ""}) {
    auto refused = ParseSearch("Patient", {{"_count", bad}}, false, kNow);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().issues()[0].expression, "_count");
  }
}

TEST(ParseSearchTest, UnknownParametersAreRefusedUnlessLenient) {
  auto strict = ParseSearch("Patient", {{"identifier", "x|1"}}, false, kNow);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.error().message_id(), "search.unknown-parameter");
  EXPECT_EQ(strict.error().http_status(), 400);
  EXPECT_EQ(strict.error().issues()[0].expression, "identifier");
  auto lenient = ParseSearch("Patient", {{"identifier", "x|1"}, {"_id", "a"}}, true, kNow);
  ASSERT_TRUE(lenient.ok());
  EXPECT_EQ(lenient->ignored, std::vector<std::string>{"identifier"});
  EXPECT_EQ(lenient->applied, "_id=a");
}

TEST(ParseSearchTest, BadValuesAndModifiersAreRefused) {
  for (const QueryParams& params : std::vector<QueryParams>{{{"_lastUpdated", "xx2024"}},
                                                            {{"_lastUpdated", ""}},
                                                            {{"_id:exact", "a"}},
                                                            {{"_lastUpdated:missing", "true"}},
                                                            {{"_id", ""}}}) {
    auto parsed = ParseSearch("Patient", params, true, kNow);
    ASSERT_FALSE(parsed.ok()) << params[0].first << "=" << params[0].second;
    EXPECT_EQ(parsed.error().http_status(), 400);
    EXPECT_EQ(parsed.error().issues()[0].expression, params[0].first);
  }
}

}  // namespace
}  // namespace server::rest
