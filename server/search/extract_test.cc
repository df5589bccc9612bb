#include "server/search/extract.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>

#include "fhir/json/json.h"
#include "tests/support/test_definitions.h"
#include "tests/support/test_registry.h"

namespace server::search {
namespace {

using server::store::IndexEntries;
using server::store::Timestamp;
using namespace std::chrono;

fhir::Resource Parse(std::string_view json) {
  auto resource = fhir::json::Parse(json, testing_support::Definitions());
  EXPECT_TRUE(resource.ok()) << resource.error().text();
  return resource.ok() ? std::move(*resource) : fhir::Resource();
}

fhir::Resource Example(const std::string& file) {
  return Parse(testing_support::ReadFile(testing_support::PackageDir() / file));
}

IndexEntries Extract(const fhir::Resource& resource) {
  auto entries = ExtractIndex(testing_support::SearchRegistry(), resource);
  EXPECT_TRUE(entries.ok()) << entries.error().text();
  return entries.ok() ? std::move(*entries) : IndexEntries();
}

template <typename Row>
std::vector<Row> Rows(const std::vector<Row>& rows, std::string_view param) {
  std::vector<Row> out;
  for (const Row& row : rows) {
    if (row.param == param) out.push_back(row);
  }
  return out;
}

std::vector<std::string> Exacts(const IndexEntries& e, std::string_view param) {
  std::vector<std::string> out;
  for (const auto& row : Rows(e.strings, param)) out.push_back(row.exact);
  return out;
}

Timestamp At(int y, unsigned m, unsigned d, int h = 0, int min = 0, int s = 0, int ms = 0) {
  return time_point_cast<microseconds>(sys_days(year_month_day{year{y}, month{m}, day{d}})) +
         hours(h) + minutes(min) + seconds(s) + milliseconds(ms);
}

// The one date row of a resource with just this birthDate-like value.
IndexEntries::Date DateOf(std::string_view value) {
  fhir::Resource patient =
      Parse(std::string(R"({"resourceType":"Patient","birthDate":")") + std::string(value) + "\"}");
  IndexEntries e = Extract(patient);
  auto rows = Rows(e.dates, "birthdate");
  EXPECT_EQ(rows.size(), 1u);
  return rows.empty() ? IndexEntries::Date{} : rows[0];
}

IndexEntries::Date ObservationDate(std::string_view json_effective) {
  fhir::Resource observation =
      Parse(std::string(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},)") +
            std::string(json_effective) + "}");
  IndexEntries e = Extract(observation);
  auto rows = Rows(e.dates, "date");
  EXPECT_EQ(rows.size(), 1u);
  return rows.empty() ? IndexEntries::Date{} : rows[0];
}

TEST(ExtractTest, PatientExample) {
  IndexEntries e = Extract(Example("Patient-example.json"));
  EXPECT_THAT(Exacts(e, "family"), ::testing::UnorderedElementsAre("Chalmers", "Windsor"));
  EXPECT_THAT(Exacts(e, "given"), ::testing::UnorderedElementsAre("Peter", "James", "Jim"));
  EXPECT_THAT(Exacts(e, "name"),
              ::testing::UnorderedElementsAre("Chalmers", "Windsor", "Peter", "James", "Jim"));
  EXPECT_THAT(Exacts(e, "address-city"), ::testing::ElementsAre("PleasantVille"));
  EXPECT_THAT(Exacts(e, "address"), ::testing::Contains("534 Erewhon St PeasantVille, Rainbow, "
                                                        "Vic  3999"));
  for (const auto& row : Rows(e.strings, "address")) {
    if (row.exact.starts_with("534 Erewhon St P")) {
      EXPECT_EQ(row.normalized, "534 erewhon st peasantville, rainbow, vic 3999");
    }
  }

  auto identifiers = Rows(e.tokens, "identifier");
  ASSERT_EQ(identifiers.size(), 1u);
  EXPECT_EQ(identifiers[0].system, "urn:oid:1.2.36.146.595.217.0.1");
  EXPECT_EQ(identifiers[0].code, "12345");
  EXPECT_EQ(identifiers[0].type_system, "http://terminology.hl7.org/CodeSystem/v2-0203");
  EXPECT_EQ(identifiers[0].type_code, "MR");

  auto gender = Rows(e.tokens, "gender");
  ASSERT_EQ(gender.size(), 1u);
  EXPECT_EQ(gender[0].system, std::nullopt);
  EXPECT_EQ(gender[0].code, "male");
  auto active = Rows(e.tokens, "active");
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].code, "true");
  auto phones = Rows(e.tokens, "phone");
  EXPECT_EQ(phones.size(), 3u);
  auto telecom = Rows(e.tokens, "telecom");
  EXPECT_EQ(telecom.size(), 3u);  // the one without a value gives no row
  // _id and _lastUpdated are kept with the resource, not as rows.
  EXPECT_TRUE(Rows(e.tokens, "_id").empty());
  EXPECT_TRUE(Rows(e.dates, "_lastUpdated").empty());

  auto birthdate = Rows(e.dates, "birthdate");
  ASSERT_EQ(birthdate.size(), 1u);
  EXPECT_EQ(birthdate[0].from, At(1974, 12, 25));
  EXPECT_EQ(birthdate[0].before, At(1974, 12, 26));

  auto organization = Rows(e.references, "organization");
  ASSERT_EQ(organization.size(), 1u);
  EXPECT_EQ(organization[0].target_type, "Organization");
  EXPECT_EQ(organization[0].target_id, "1");
}

TEST(ExtractTest, ObservationExample) {
  IndexEntries e = Extract(Example("Observation-example.json"));
  auto codes = Rows(e.tokens, "code");
  ASSERT_EQ(codes.size(), 4u);
  EXPECT_EQ(codes[0].system, "http://acme.org/devices/clinical-codes");  // rows are sorted
  bool found = false;
  for (const auto& row : codes) {
    if (row.code == "29463-7") {
      found = true;
      EXPECT_EQ(row.system, "http://loinc.org");
      EXPECT_EQ(row.text, "body weight");
    }
  }
  EXPECT_TRUE(found);

  auto values = Rows(e.quantities, "value-quantity");
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(values[0].value, "185");
  EXPECT_EQ(values[0].system, "http://unitsofmeasure.org");
  EXPECT_EQ(values[0].code, "[lb_av]");
  EXPECT_EQ(values[0].unit, "lbs");
  EXPECT_EQ(values[0].canonical_code, "g");
  EXPECT_EQ(values[0].canonical_value.substr(0, 6), "83914.");

  // patient is subject.where(resolve() is Patient): answered from the reference's type.
  for (const char* param : {"subject", "patient"}) {
    auto rows = Rows(e.references, param);
    ASSERT_EQ(rows.size(), 1u) << param;
    EXPECT_EQ(rows[0].target_type, "Patient");
    EXPECT_EQ(rows[0].target_id, "example");
  }
  auto encounter = Rows(e.references, "encounter");
  ASSERT_EQ(encounter.size(), 1u);
  EXPECT_EQ(encounter[0].target_type, "Encounter");
  EXPECT_TRUE(Rows(e.references, "focus").empty());

  auto date = Rows(e.dates, "date");
  ASSERT_EQ(date.size(), 1u);
  EXPECT_EQ(date[0].from, At(2016, 3, 28));
  EXPECT_EQ(date[0].before, At(2016, 3, 29));
}

TEST(ExtractTest, BloodPressureComponents) {
  IndexEntries e = Extract(Example("Observation-blood-pressure.json"));
  auto component_codes = Rows(e.tokens, "component-code");
  EXPECT_EQ(component_codes.size(), 4u);
  auto values = Rows(e.quantities, "component-value-quantity");
  ASSERT_EQ(values.size(), 2u);
  for (const auto& row : values) {
    EXPECT_EQ(row.code, "mm[Hg]");
    EXPECT_EQ(row.canonical_code, "m-1.s-2.g");  // pressure: g/(m.s2)
  }
  // The code's text is a row of its own with an empty code.
  bool text_row = false;
  for (const auto& row : Rows(e.tokens, "code")) {
    if (row.code.empty() && row.text == "blood pressure systolic & diastolic") text_row = true;
  }
  EXPECT_TRUE(text_row);
  auto based_on = Rows(e.references, "based-on");
  ASSERT_EQ(based_on.size(), 1u);
  EXPECT_EQ(based_on[0].identifier_system, "https://acme.org/identifiers");
  EXPECT_EQ(based_on[0].identifier_value, "1234");
  // Composites: each component's rows, one group per item. The panel has no value of its own.
  EXPECT_TRUE(Rows(e.quantities, "code-value-quantity$2").empty());
  auto codes = Rows(e.tokens, "component-code-value-quantity$1");
  auto quantities = Rows(e.quantities, "component-code-value-quantity$2");
  ASSERT_EQ(quantities.size(), 2u);
  for (const auto& quantity : quantities) {
    EXPECT_GT(quantity.group, 0);
    std::set<std::string> codes_of_group;
    for (const auto& code : codes) {
      if (code.group == quantity.group && code.system == "http://loinc.org") {
        codes_of_group.insert(code.code);
      }
    }
    // Systolic 107 with 8480-6, diastolic 60 with 8462-4.
    EXPECT_EQ(codes_of_group,
              (std::set<std::string>{quantity.value == "107" ? "8480-6" : "8462-4"}));
  }
  EXPECT_NE(quantities[0].group, quantities[1].group);
  for (const auto& row : Rows(e.tokens, "code")) EXPECT_EQ(row.group, 0);
  // Unions of other parameters (combo-*) have no rows of their own.
  for (const auto& row : e.tokens) EXPECT_FALSE(row.param.starts_with("combo-")) << row.param;
  for (const auto& row : e.quantities) EXPECT_FALSE(row.param.starts_with("combo-")) << row.param;
}

TEST(ExtractTest, MedicationRequest) {
  IndexEntries e = Extract(Example("MedicationRequest-medrx0302.json"));
  EXPECT_TRUE(Rows(e.references, "medication").empty());  // "#med0320" is contained
  auto subject = Rows(e.references, "subject");
  ASSERT_EQ(subject.size(), 1u);
  EXPECT_EQ(subject[0].target_id, "pat1");
  auto requester = Rows(e.references, "requester");
  ASSERT_EQ(requester.size(), 1u);
  EXPECT_EQ(requester[0].target_type, "Practitioner");
  auto authored = Rows(e.dates, "authoredon");
  ASSERT_EQ(authored.size(), 1u);
  EXPECT_EQ(authored[0].from, At(2015, 1, 15));
  auto identifier = Rows(e.tokens, "identifier");
  ASSERT_EQ(identifier.size(), 1u);
  EXPECT_EQ(identifier[0].code, "12345689");
  EXPECT_TRUE(identifier[0].type_code.empty());
  EXPECT_EQ(Rows(e.tokens, "intent").size(), 1u);
}

TEST(ExtractTest, EncounterPeriod) {
  IndexEntries e = Extract(Example("Encounter-f203.json"));
  auto date = Rows(e.dates, "date");
  ASSERT_EQ(date.size(), 1u);
  EXPECT_EQ(date[0].from, At(2013, 3, 11));
  EXPECT_EQ(date[0].before, At(2013, 3, 21));  // the end day is included
}

TEST(ExtractTest, DatePrecision) {
  IndexEntries::Date year = DateOf("1974");
  EXPECT_EQ(year.from, At(1974, 1, 1));
  EXPECT_EQ(year.before, At(1975, 1, 1));
  IndexEntries::Date month = DateOf("2024-12");
  EXPECT_EQ(month.from, At(2024, 12, 1));
  EXPECT_EQ(month.before, At(2025, 1, 1));
  IndexEntries::Date day = DateOf("2024-02-29");
  EXPECT_EQ(day.from, At(2024, 2, 29));
  EXPECT_EQ(day.before, At(2024, 3, 1));

  IndexEntries::Date zoned = ObservationDate(R"("effectiveDateTime":"2024-03-05T08:30:00+08:00")");
  EXPECT_EQ(zoned.from, At(2024, 3, 5, 0, 30));
  EXPECT_EQ(zoned.before, At(2024, 3, 5, 0, 30, 1));

  // FHIR requires seconds in a dateTime, but stored data may lack them: built past the parser.
  fhir::Resource patient = Parse(R"({"resourceType":"Patient","id":"p"})");
  patient.AddPrimitive(patient.root(), "birthDate", "2024-03-05T08:30+08:00");
  auto minute = Rows(Extract(patient).dates, "birthdate");
  ASSERT_EQ(minute.size(), 1u);
  EXPECT_EQ(minute[0].from, At(2024, 3, 5, 0, 30));
  EXPECT_EQ(minute[0].before, At(2024, 3, 5, 0, 31));
  IndexEntries::Date instant =
      ObservationDate(R"("effectiveInstant":"2015-02-07T13:28:17.239+02:00")");
  EXPECT_EQ(instant.from, At(2015, 2, 7, 11, 28, 17, 239));
  EXPECT_EQ(instant.before, At(2015, 2, 7, 11, 28, 17, 240));
  IndexEntries::Date second = ObservationDate(R"("effectiveDateTime":"2015-02-07T13:28:17Z")");
  EXPECT_EQ(second.from, At(2015, 2, 7, 13, 28, 17));
  EXPECT_EQ(second.before, At(2015, 2, 7, 13, 28, 18));

  IndexEntries::Date open_end = ObservationDate(R"("effectivePeriod":{"start":"2020-05"})");
  EXPECT_EQ(open_end.from, At(2020, 5, 1));
  EXPECT_EQ(open_end.before, std::nullopt);
  IndexEntries::Date open_start = ObservationDate(R"("effectivePeriod":{"end":"2020"})");
  EXPECT_EQ(open_start.from, std::nullopt);
  EXPECT_EQ(open_start.before, At(2021, 1, 1));
}

TEST(ExtractTest, QuantityCanonicalForm) {
  auto value = [](std::string_view quantity) {
    fhir::Resource observation = Parse(
        std::string(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},)") +
        R"("valueQuantity":)" + std::string(quantity) + "}");
    auto rows = Rows(Extract(observation).quantities, "value-quantity");
    EXPECT_EQ(rows.size(), 1u);
    return rows.empty() ? IndexEntries::Quantity{} : rows[0];
  };
  IndexEntries::Quantity kg =
      value(R"({"value":1,"system":"http://unitsofmeasure.org","code":"kg"})");
  IndexEntries::Quantity g =
      value(R"({"value":1000.0,"system":"http://unitsofmeasure.org","code":"g"})");
  EXPECT_EQ(kg.canonical_code, "g");
  EXPECT_EQ(kg.canonical_code, g.canonical_code);
  EXPECT_EQ(kg.canonical_value, "1000");
  EXPECT_EQ(kg.canonical_value, g.canonical_value);
  EXPECT_EQ(g.value, "1000.0");

  IndexEntries::Quantity density =
      value(R"({"value":5,"system":"http://unitsofmeasure.org","code":"mg/dL"})");
  EXPECT_EQ(density.canonical_code, "m-3.g");
  EXPECT_EQ(density.canonical_value, "50");
  IndexEntries::Quantity celsius =
      value(R"({"value":37,"system":"http://unitsofmeasure.org","code":"Cel"})");
  EXPECT_EQ(celsius.canonical_code, "K");
  EXPECT_EQ(celsius.canonical_value, "310.15");

  IndexEntries::Quantity local = value(R"({"value":2,"unit":"tablets"})");
  EXPECT_EQ(local.unit, "tablets");
  EXPECT_TRUE(local.canonical_code.empty());
  IndexEntries::Quantity unknown =
      value(R"({"value":2,"system":"http://unitsofmeasure.org","code":"{nonsense"})");
  EXPECT_TRUE(unknown.canonical_code.empty());
}

TEST(ExtractTest, ReferenceForms) {
  fhir::Resource observation = Parse(
      R"({"resourceType":"Observation","status":"final","code":{"text":"x"},)"
      R"("subject":{"reference":"Patient/7/_history/2"},)"
      R"("performer":[{"reference":"http://other.org/fhir/Practitioner/9"},)"
      R"({"reference":"urn:uuid:1c8e7a7e-1111-2222-3333-444455556666"},)"
      R"({"identifier":{"system":"urn:s","value":"v"}},{"reference":"#c1"},{"display":"d"}]})");
  IndexEntries e = Extract(observation);
  auto subject = Rows(e.references, "subject");
  ASSERT_EQ(subject.size(), 1u);
  EXPECT_EQ(subject[0].target_type, "Patient");
  EXPECT_EQ(subject[0].target_id, "7");
  auto performer = Rows(e.references, "performer");
  ASSERT_EQ(performer.size(), 3u);
  std::vector<std::string> urls;
  for (const auto& row : performer) {
    if (row.url.empty()) {
      EXPECT_EQ(row.identifier_value, "v");
    } else {
      urls.push_back(row.url);
    }
  }
  EXPECT_THAT(urls,
              ::testing::UnorderedElementsAre("http://other.org/fhir/Practitioner/9",
                                              "urn:uuid:1c8e7a7e-1111-2222-3333-444455556666"));
}

TEST(ExtractTest, CanonicalReferencesSplitTheVersion) {
  fhir::Resource questionnaire_response =
      Parse(R"({"resourceType":"QuestionnaireResponse","status":"completed",)"
            R"("questionnaire":"http://example.org/Questionnaire/q|2.1"})");
  auto rows = Rows(Extract(questionnaire_response).references, "questionnaire");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].url, "http://example.org/Questionnaire/q");
  EXPECT_EQ(rows[0].version, "2.1");
}

TEST(ExtractTest, MetaAndUri) {
  fhir::Resource patient =
      Parse(R"({"resourceType":"Patient","meta":{"tag":[{"system":"urn:t","code":"a"}],)"
            R"("profile":["http://example.org/P|1"],"source":"urn:src"}})");
  IndexEntries e = Extract(patient);
  auto tag = Rows(e.tokens, "_tag");
  ASSERT_EQ(tag.size(), 1u);
  EXPECT_EQ(tag[0].system, "urn:t");
  EXPECT_EQ(tag[0].code, "a");
  auto profile = Rows(e.uris, "_profile");  // a uri parameter in R4
  ASSERT_EQ(profile.size(), 1u);
  EXPECT_EQ(profile[0].value, "http://example.org/P|1");
  auto source = Rows(e.uris, "_source");
  ASSERT_EQ(source.size(), 1u);
  EXPECT_EQ(source[0].value, "urn:src");
}

TEST(ExtractTest, RowsAreDeduplicated) {
  fhir::Resource patient = Parse(
      R"({"resourceType":"Patient","name":[{"family":"Li"},{"family":"Li","given":["Li"]}]})");
  IndexEntries e = Extract(patient);
  EXPECT_EQ(Rows(e.strings, "family").size(), 1u);
  EXPECT_EQ(Rows(e.strings, "name").size(), 1u);
}

TEST(ExtractTest, EmptyResourceFails) {
  EXPECT_FALSE(ExtractIndex(testing_support::SearchRegistry(), fhir::Resource()).ok());
}

TEST(ExtractTest, EveryExampleInThePackage) {
  size_t resources = 0, rows = 0, failed_parse = 0;
  nanoseconds elapsed{0};
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(testing_support::PackageDir())) {
    if (entry.path().extension() == ".json" && entry.path().filename().string() != "package.json" &&
        !entry.path().filename().string().starts_with(".")) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    auto resource =
        fhir::json::Parse(testing_support::ReadFile(file), testing_support::Definitions());
    if (!resource.ok()) {
      ++failed_parse;
      continue;
    }
    auto start = steady_clock::now();
    auto entries = ExtractIndex(testing_support::SearchRegistry(), *resource);
    elapsed += steady_clock::now() - start;
    ASSERT_TRUE(entries.ok()) << file;
    ++resources;
    rows += entries->strings.size() + entries->tokens.size() + entries->dates.size() +
            entries->numbers.size() + entries->quantities.size() + entries->references.size() +
            entries->uris.size();
  }
  EXPECT_GT(resources, 4000u);
  std::cout << "extracted " << resources << " resources (" << failed_parse << " files not parsed), "
            << rows << " rows, "
            << duration_cast<microseconds>(elapsed).count() / std::max<size_t>(resources, 1)
            << " us per resource\n";
}

}  // namespace
}  // namespace server::search
