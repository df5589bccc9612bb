// search_load: fills a running fhirhub with a generated primary-care population and measures the
// searches a station's software runs against it. bench/search_load.sh runs both against a fresh
// embedded cluster; docs/performance.md ("Search at a million resources") has the figures.
//
//   search_load --port PORT --mode load|query [--patients 10000] [--concurrency 16]
//               [--duration 15] [--requests N] [--kinds K,K,...] [--bundle 500]
//               [--host 127.0.0.1] [--base /fhir] [--token JWT]
//
// load: 20 Organizations (stations), 200 Practitioners (10 per station), then per Patient 100
// resources: the Patient, 10 Encounters, 5 Conditions, 80 Observations and 4
// MedicationRequests (1,000,220 resources for 10,000 Patients). Everything is a pure function of
// the Patient's number, so that the query mode can draw parameters that match without asking
// the server. Sent as transaction Bundles of PUTs with ids (`bundle` entries: whole Patients'
// records), `concurrency` at a time; prints progress every 10 s and the load rate.
//
// query: for each kind in `kinds` (default all, in this order), `concurrency` clients send the
// kind's search for `duration` s (or `requests` searches in all), each with random parameters:
//   identifier      Patient?identifier=urn:oid:2.16.156.10011.1.3|<身份证 number>
//   name-birthdate  Patient?name=<family name, Chinese or pinyin>&birthdate=<day>
//   obs-code-date   Observation?patient=<id>&code=<LOINC>&date=ge<day>&date=lt<day + 1 year>
//                   &_sort=date
//   obs-include     the same with _include=Observation:performer
//   has             Patient?_has:Observation:patient:code=<LOINC>
//   revinclude      Patient?identifier=<...>&_revinclude=Encounter:patient
//                   &_revinclude=Condition:patient
//   count           Encounter?service-provider=Organization/<station>&_summary=count
// each with _count=50. It reports per kind requests/s, latency percentiles, errors and the mean
// number of matches and included resources per answer (and of Bundle.total for count).
//
// Each client is a thread with one blocking keep-alive HTTP/1.1 connection and one request in
// flight. rest_load's event loop saves client CPU on 20-µs reads; a search costs the server
// milliseconds, so the simpler client changes nothing measurable here. Any answer other than 2xx
// is an error (the first few are printed; exit status 1). Machine-readable lines for the script:
//   LOAD resources=N bundles=B seconds=S rate=R errors=E
//   RESULT kind=K requests=N seconds=S rps=R p50_ms=A p95_ms=B p99_ms=C errors=E matches=M
//          includes=I total=T
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/server_address.h"

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

constexpr int kStations = 20;
constexpr int kPractitionersPerStation = 10;
constexpr int kEncounters = 10;
constexpr int kConditions = 5;
constexpr int kObservations = 80;
constexpr int kMedicationRequests = 4;
constexpr int kPerPatient = 1 + kEncounters + kConditions + kObservations + kMedicationRequests;
constexpr int kErrorSamples = 5;
constexpr std::string_view kIdCardSystem = "urn:oid:2.16.156.10011.1.3";
constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kSnomed = "http://snomed.info/sct";
constexpr std::string_view kKinds[] = {
    "identifier", "name-birthdate", "obs-code-date", "obs-include", "has", "revinclude", "count"};

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string base = "/fhir";
  std::string token;  // a bearer token for every request; none when empty
  int patients = 10000;
  int concurrency = 16;
  double duration_seconds = 15;
  long long requests = 0;  // 0: bounded by duration
  int bundle = 500;
  std::vector<std::string> kinds{std::begin(kKinds), std::end(kKinds)};
};

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr,
               "search_load: %s\nusage: search_load --port PORT --mode load|query "
               "[--patients N] [--concurrency N] [--duration SECONDS] [--requests N] "
               "[--kinds K,K,...] [--bundle N] [--host HOST] [--base PATH] [--token JWT]\n",
               message.c_str());
  std::exit(2);
}

long long Number(std::string_view name, const char* text, long long min, long long max) {
  long long value = 0;
  const char* end = text + std::strlen(text);
  const auto [at, error] = std::from_chars(text, end, value);
  if (error != std::errc() || at != end || value < min || value > max) {
    Usage(std::string(name) + " must be a number from " + std::to_string(min) + " to " +
          std::to_string(max));
  }
  return value;
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) Usage("missing value of " + std::string(name));
    const char* value = argv[i + 1];
    if (name == "--mode") {
      o.mode = value;
    } else if (name == "--host") {
      o.host = value;
    } else if (name == "--port") {
      o.port = static_cast<uint16_t>(Number(name, value, 1, 65535));
    } else if (name == "--base") {
      o.base = value;
    } else if (name == "--token") {
      o.token = value;
    } else if (name == "--patients") {
      o.patients = static_cast<int>(Number(name, value, 1, 10000000));
    } else if (name == "--concurrency") {
      o.concurrency = static_cast<int>(Number(name, value, 1, 1024));
    } else if (name == "--duration") {
      o.duration_seconds = static_cast<double>(Number(name, value, 1, 86400));
    } else if (name == "--requests") {
      o.requests = Number(name, value, 1, 1LL << 40);
    } else if (name == "--bundle") {
      o.bundle = static_cast<int>(Number(name, value, kPerPatient, 100000));
    } else if (name == "--kinds") {
      o.kinds.clear();
      std::string_view list = value;
      while (!list.empty()) {
        const std::string_view kind = list.substr(0, list.find(','));
        if (std::find(std::begin(kKinds), std::end(kKinds), kind) == std::end(kKinds)) {
          Usage("unknown kind " + std::string(kind));
        }
        o.kinds.emplace_back(kind);
        list.remove_prefix(std::min(list.size(), kind.size() + 1));
      }
    } else {
      Usage("unknown option " + std::string(name));
    }
  }
  if (o.mode != "load" && o.mode != "query") Usage("--mode must be load or query");
  if (o.port == 0) Usage("--port is required");
  return o;
}

// ---------------------------------------------------------------------------------------------
// The population: every value is drawn from a hash of the Patient's number and a salt.

uint64_t Hash(uint64_t patient, uint64_t salt) {
  // splitmix64's finalizer: consecutive inputs give unrelated outputs.
  uint64_t z = patient * 0x9e3779b97f4a7c15ull + salt * 0xbf58476d1ce4e5b9ull + 1;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct Name {
  std::string_view chinese;
  std::string_view pinyin;
};

// The twenty commonest family names, and common given names.
constexpr Name kFamilies[] = {{"王", "Wang"}, {"李", "Li"},   {"张", "Zhang"}, {"刘", "Liu"},
                              {"陈", "Chen"}, {"杨", "Yang"}, {"黄", "Huang"}, {"赵", "Zhao"},
                              {"吴", "Wu"},   {"周", "Zhou"}, {"徐", "Xu"},    {"孙", "Sun"},
                              {"马", "Ma"},   {"朱", "Zhu"},  {"胡", "Hu"},    {"郭", "Guo"},
                              {"何", "He"},   {"林", "Lin"},  {"罗", "Luo"},   {"高", "Gao"}};
constexpr Name kGivens[] = {
    {"伟", "Wei"},       {"芳", "Fang"},      {"娜", "Na"},         {"秀英", "Xiuying"},
    {"敏", "Min"},       {"静", "Jing"},      {"丽", "Li"},         {"强", "Qiang"},
    {"磊", "Lei"},       {"军", "Jun"},       {"洋", "Yang"},       {"勇", "Yong"},
    {"艳", "Yan"},       {"杰", "Jie"},       {"娟", "Juan"},       {"涛", "Tao"},
    {"明", "Ming"},      {"超", "Chao"},      {"秀兰", "Xiulan"},   {"霞", "Xia"},
    {"建华", "Jianhua"}, {"桂英", "Guiying"}, {"志强", "Zhiqiang"}, {"玉兰", "Yulan"}};
constexpr std::string_view kDistricts[] = {"望京", "玉林", "五里桥", "城南", "东湖", "西关", "北苑",
                                           "南湖", "太平", "长安",   "和平", "新华", "建设", "解放",
                                           "人民", "中山", "青年",   "胜利", "光明", "幸福"};
// Administrative division codes that lead a 身份证 number.
constexpr std::string_view kRegions[] = {"110101", "110105", "310104", "440106", "510107",
                                         "330106", "420102", "320102", "370102", "610113"};

struct Code {
  std::string_view code;
  std::string_view display;
  std::string_view unit;  // UCUM
  int low;                // value range, in tenths
  int high;
  bool lab;
};

// Vital signs and labs as a station records them. HbA1c only for the diabetic Patients (one in
// ten), so that one code of the set is rare, as in life.
constexpr Code kObservationCodes[] = {
    {"8867-4", "Heart rate", "/min", 550, 1100, false},
    {"8480-6", "Systolic blood pressure", "mm[Hg]", 1000, 1800, false},
    {"8462-4", "Diastolic blood pressure", "mm[Hg]", 600, 1100, false},
    {"29463-7", "Body weight", "kg", 450, 950, false},
    {"8302-2", "Body height", "cm", 1500, 1850, false},
    {"39156-5", "Body mass index", "kg/m2", 180, 320, false},
    {"2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 700, 2000, true},
    {"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 1300, 2800, true},
    {"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 50, 110, true}};
constexpr int kHbA1c = 8;
constexpr int kGlucose = 6;

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kConditionCodes = {{
    {"44054006", "Diabetes mellitus type 2"},
    {"38341003", "Hypertensive disorder"},
    {"55822004", "Hyperlipidemia"},
    {"195967001", "Asthma"},
    {"13645005", "Chronic obstructive lung disease"},
}};
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kMedications = {{
    {"C08CA01", "氨氯地平 amlodipine"},
    {"A10BA02", "二甲双胍 metformin"},
    {"C10AA01", "辛伐他汀 simvastatin"},
    {"C09CA01", "氯沙坦 losartan"},
}};

bool Diabetic(int patient) { return patient % 10 == 0; }
int StationOf(int patient) { return patient % kStations + 1; }
int PractitionerOf(int patient, uint64_t salt) {
  return (StationOf(patient) - 1) * kPractitionersPerStation +
         static_cast<int>(Hash(patient, salt) % kPractitionersPerStation) + 1;
}

std::string Day(sys_days day) {
  const year_month_day ymd(day);
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

// Clinical records cover 2023 to 2025.
constexpr sys_days kRecordsStart = std::chrono::year{2023} / 1 / 1;
constexpr int kRecordDays = 3 * 365;

sys_days RecordDay(int patient, uint64_t salt) {
  return kRecordsStart + days(Hash(patient, salt) % kRecordDays);
}

std::string RecordTime(int patient, uint64_t salt) {
  const uint64_t h = Hash(patient, salt + 1);
  char time[32];
  std::snprintf(time, sizeof time, "T%02d:%02d:00+08:00", static_cast<int>(8 + h % 10),
                static_cast<int>(h / 10 % 60));
  return Day(RecordDay(patient, salt)) + time;
}

struct Person {
  Name family;
  Name given;
  bool male;
  std::string birth_date;
  std::string id_card;  // 18 characters, GB 11643
};

Person PersonOf(int patient) {
  Person p;
  p.family = kFamilies[Hash(patient, 1) % std::size(kFamilies)];
  p.given = kGivens[Hash(patient, 2) % std::size(kGivens)];
  const sys_days birth = sys_days(std::chrono::year{1940} / 1 / 1) + days(Hash(patient, 3) % 23725);
  p.birth_date = Day(birth);
  // Region, birth date, a sequence number whose parity is the sex, and the check character; the
  // region and sequence come from the Patient's number, so numbers never repeat.
  const int sequence = patient % 1000;
  p.male = sequence % 2 == 1;
  std::string digits(kRegions[patient / 1000 % std::size(kRegions)]);
  for (char c : p.birth_date) {
    if (c != '-') digits += c;
  }
  char seq[8];
  std::snprintf(seq, sizeof seq, "%03d", sequence);
  digits += seq;
  static constexpr int kWeights[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (digits[i] - '0') * kWeights[i];
  digits += "10X98765432"[sum % 11];
  p.id_card = std::move(digits);
  return p;
}

std::string PatientId(int patient) { return "p" + std::to_string(patient); }

// ---------------------------------------------------------------------------------------------
// Resources, as compact JSON in R4 definition order.

void Ref(std::string& out, std::string_view element, std::string_view type, std::string_view id) {
  out.append(",\"").append(element).append(R"(":{"reference":")");
  out.append(type).append("/").append(id).append("\"}");
}

void Concept(std::string& out, std::string_view element, std::string_view system,
             std::string_view code, std::string_view display) {
  out.append(",\"").append(element).append(R"(":{"coding":[{"system":")").append(system);
  out.append(R"(","code":")").append(code).append(R"(","display":")").append(display);
  out.append("\"}]}");
}

// One transaction entry: PUT Type/id with the resource whose members after "id" are `body`.
void Entry(std::string& out, std::string_view type, const std::string& id,
           const std::string& body) {
  if (out.back() != '[') out += ',';
  out.append(R"({"resource":{"resourceType":")").append(type).append(R"(","id":")").append(id);
  out.append("\"").append(body).append(R"(},"request":{"method":"PUT","url":")").append(type);
  out.append("/").append(id).append("\"}}");
}

void Directory(std::string& out) {
  std::string body;
  for (int s = 1; s <= kStations; ++s) {
    const std::string district(kDistricts[s - 1]);
    body = R"(,"identifier":[{"system":"urn:oid:2.16.156.10011.2.5.1.3","value":"STATION-)" +
           std::to_string(s) + R"("}],"active":true)";
    body += R"(,"name":")" + district + R"(社区卫生服务站")";
    Entry(out, "Organization", "station-" + std::to_string(s), body);
  }
  for (int r = 1; r <= kStations * kPractitionersPerStation; ++r) {
    const Name family = kFamilies[Hash(r, 101) % std::size(kFamilies)];
    const Name given = kGivens[Hash(r, 102) % std::size(kGivens)];
    body = R"(,"identifier":[{"system":"urn:oid:2.16.156.10011.1.4","value":"PR-)" +
           std::to_string(r) + R"("}],"active":true,"name":[{"text":")" +
           std::string(family.chinese) + std::string(given.chinese) + R"(","family":")" +
           std::string(family.chinese) + R"(","given":[")" + std::string(given.chinese) +
           R"("]}],"gender":")" + (Hash(r, 103) % 2 ? "male" : "female") + "\"";
    Entry(out, "Practitioner", "pr-" + std::to_string(r), body);
  }
}

void Record(std::string& out, int patient) {
  const Person person = PersonOf(patient);
  const std::string pid = PatientId(patient);
  const std::string station = "station-" + std::to_string(StationOf(patient));
  std::string body = R"(,"identifier":[{"use":"official","system":")" + std::string(kIdCardSystem) +
                     R"(","value":")" + person.id_card + "\"}]";
  body += R"(,"active":true,"name":[{"use":"official","text":")" +
          std::string(person.family.chinese) + std::string(person.given.chinese) +
          R"(","family":")" + std::string(person.family.chinese) + R"(","given":[")" +
          std::string(person.given.chinese) + R"("]},{"use":"usual","text":")" +
          std::string(person.given.pinyin) + " " + std::string(person.family.pinyin) +
          R"(","family":")" + std::string(person.family.pinyin) + R"(","given":[")" +
          std::string(person.given.pinyin) + "\"]}]";
  body += R"(,"gender":")" + std::string(person.male ? "male" : "female") + R"(","birthDate":")" +
          person.birth_date + "\"";
  Ref(body, "managingOrganization", "Organization", station);
  Entry(out, "Patient", pid, body);

  for (int e = 0; e < kEncounters; ++e) {
    const uint64_t salt = 1000 + static_cast<uint64_t>(e) * 2;
    body = R"(,"status":"finished","class":{"system":)"
           R"("http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"})";
    Ref(body, "subject", "Patient", pid);
    body += R"(,"participant":[{"individual":{"reference":"Practitioner/pr-)" +
            std::to_string(PractitionerOf(patient, salt)) + "\"}}]";
    const std::string start = RecordTime(patient, salt);
    body += R"(,"period":{"start":")" + start + R"(","end":")" + start.substr(0, 11) +
            R"(23:00:00+08:00"})";
    Ref(body, "serviceProvider", "Organization", station);
    Entry(out, "Encounter", pid + "-e" + std::to_string(e), body);
  }

  for (int c = 0; c < kConditions; ++c) {
    // The diabetic Patients' first Condition is their diabetes.
    const auto& [code, display] =
        c == 0 && Diabetic(patient)
            ? kConditionCodes[0]
            : kConditionCodes[1 + Hash(patient, 2000 + c) % (kConditionCodes.size() - 1)];
    body = R"(,"clinicalStatus":{"coding":[{"system":)"
           R"("http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]})";
    Concept(body, "code", kSnomed, code, display);
    Ref(body, "subject", "Patient", pid);
    Ref(body, "encounter", "Encounter", pid + "-e" + std::to_string(c));
    body += R"(,"onsetDateTime":")" + RecordTime(patient, 1000 + c * 2) + "\"";
    Entry(out, "Condition", pid + "-c" + std::to_string(c), body);
  }

  for (int o = 0; o < kObservations; ++o) {
    int which = o % static_cast<int>(std::size(kObservationCodes));
    if (which == kHbA1c && !Diabetic(patient)) which = kGlucose;
    const Code& code = kObservationCodes[which];
    const uint64_t salt = 3000 + static_cast<uint64_t>(o) * 2;
    body = R"(,"status":"final","category":[{"coding":[{"system":)"
           R"("http://terminology.hl7.org/CodeSystem/observation-category","code":")" +
           std::string(code.lab ? "laboratory" : "vital-signs") + "\"}]}]";
    Concept(body, "code", kLoinc, code.code, code.display);
    Ref(body, "subject", "Patient", pid);
    Ref(body, "encounter", "Encounter", pid + "-e" + std::to_string(o % kEncounters));
    body += R"(,"effectiveDateTime":")" + RecordTime(patient, salt) + "\"";
    body += R"(,"performer":[{"reference":"Practitioner/pr-)" +
            std::to_string(PractitionerOf(patient, salt)) + "\"}]";
    const int tenths = code.low + static_cast<int>(Hash(patient, salt + 7) %
                                                   static_cast<uint64_t>(code.high - code.low));
    body += R"(,"valueQuantity":{"value":)" + std::to_string(tenths / 10) + "." +
            std::to_string(tenths % 10) + R"(,"unit":")" + std::string(code.unit) +
            R"(","system":"http://unitsofmeasure.org","code":")" + std::string(code.unit) + "\"}";
    Entry(out, "Observation", pid + "-o" + std::to_string(o), body);
  }

  for (int m = 0; m < kMedicationRequests; ++m) {
    const auto& [code, display] = kMedications[Hash(patient, 4000 + m) % kMedications.size()];
    body = R"(,"status":"active","intent":"order")";
    Concept(body, "medicationCodeableConcept", "http://www.whocc.no/atc", code, display);
    Ref(body, "subject", "Patient", pid);
    body += R"(,"authoredOn":")" + RecordTime(patient, 4100 + m * 2) + "\"";
    Ref(body, "requester", "Practitioner",
        "pr-" + std::to_string(PractitionerOf(patient, 4200 + m)));
    body += R"(,"dosageInstruction":[{"text":"每日一次，每次一片"}])";
    Entry(out, "MedicationRequest", pid + "-m" + std::to_string(m), body);
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP.

struct Answer {
  int status = 0;
  std::string body;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The server: its address, resolved once, and the header lines every request carries (Host,
// Accept, and Authorization when a token is given).
struct Server {
  bench::ServerAddress address;
  std::string headers;
};

// One keep-alive connection with one request at a time, on a blocking socket.
class Client {
 public:
  explicit Client(const Server& server) : server_(server) {}
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends the request and reads the answer; false (and why, in `error`) when no answer came. A
  // kept-alive connection that the server closed before answering is reopened and the request
  // sent again once, since the server cannot have seen it.
  bool Exchange(std::string_view method, const std::string& target, const std::string& body,
                Answer& answer, std::string& error) {
    request_.clear();
    request_.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    request_.append(server_.headers);
    if (!body.empty()) {
      request_.append("Content-Type: application/fhir+json\r\nPrefer: return=minimal\r\n");
      request_.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    request_.append("\r\n").append(body);
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = fd_ >= 0;
      if (!reused && !Connect(error)) return false;
      bool got_bytes = false;
      if (Send(error) && Receive(answer, got_bytes, error)) return true;
      Close();
      if (!reused || got_bytes) return false;
    }
    return false;
  }

 private:
  bool Connect(std::string& error) {
    const auto* address = reinterpret_cast<const sockaddr*>(&server_.address.address);
    fd_ = socket(address->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || connect(fd_, address, server_.address.size) != 0) {
      error = std::string("connect: ") + std::strerror(errno);
      Close();
      return false;
    }
    // Requests and answers strictly alternate: Nagle would only add delay.
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // A stuck server shows as an error, not a hang; a large transaction may take a while.
    timeval timeout{.tv_sec = 300, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return true;
  }

  bool Send(std::string& error) {
    for (size_t sent = 0; sent < request_.size();) {
      const ssize_t n = send(fd_, request_.data() + sent, request_.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = std::string("send: ") + std::strerror(errno);
        return false;
      }
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // Makes sure `in_` holds `size` unparsed bytes; false at the end of the stream or on an error.
  bool Fill(size_t size, bool& got_bytes, std::string& error) {
    while (in_.size() - at_ < size) {
      if (at_ > 0) {
        in_.erase(0, at_);
        at_ = 0;
      }
      char buffer[65536];
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = n == 0 ? "connection closed by the server"
                       : std::string("recv: ") + std::strerror(errno);
        return false;
      }
      got_bytes = true;
      in_.append(buffer, static_cast<size_t>(n));
    }
    return true;
  }

  // The unparsed bytes up to `delimiter`, which is consumed; false as for Fill.
  bool Line(std::string_view delimiter, std::string& line, bool& got_bytes, std::string& error) {
    size_t end;
    while ((end = in_.find(delimiter, at_)) == std::string::npos) {
      if (!Fill(in_.size() - at_ + 1, got_bytes, error)) return false;
    }
    line.assign(in_, at_, end - at_);
    at_ = end + delimiter.size();
    return true;
  }

  bool Receive(Answer& answer, bool& got_bytes, std::string& error) {
    std::string head;
    if (!Line("\r\n\r\n", head, got_bytes, error)) return false;
    if (head.size() < 12 || !head.starts_with("HTTP/1.")) {
      error = "malformed answer";
      return false;
    }
    answer.status = std::atoi(head.c_str() + 9);
    answer.body.clear();
    size_t length = 0;
    bool chunked = false;
    bool close_after = false;
    for (size_t start = head.find("\r\n"); start != std::string::npos;) {
      start += 2;
      const size_t end = std::min(head.find("\r\n", start), head.size());
      const std::string_view field(head.data() + start, end - start);
      const size_t colon = field.find(':');
      std::string_view value = colon == std::string_view::npos ? "" : field.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      const std::string_view name = field.substr(0, colon);
      if (EqualsIgnoreCase(name, "content-length")) {
        std::from_chars(value.data(), value.data() + value.size(), length);
      } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
        chunked = EqualsIgnoreCase(value, "chunked");
      } else if (EqualsIgnoreCase(name, "connection")) {
        close_after = EqualsIgnoreCase(value, "close");
      }
      start = end < head.size() ? end : std::string::npos;
    }
    if (chunked) {
      std::string line;
      for (;;) {
        if (!Line("\r\n", line, got_bytes, error)) return false;
        size_t chunk = 0;
        std::from_chars(line.data(), line.data() + line.size(), chunk, 16);
        if (chunk == 0) break;
        if (!Fill(chunk + 2, got_bytes, error)) return false;
        answer.body.append(in_, at_, chunk);
        at_ += chunk + 2;
      }
      // Trailer fields, up to an empty line.
      do {
        if (!Line("\r\n", line, got_bytes, error)) return false;
      } while (!line.empty());
    } else if (answer.status != 204 && answer.status != 304) {
      if (!Fill(length, got_bytes, error)) return false;
      answer.body.assign(in_, at_, length);
      at_ += length;
    }
    if (close_after) Close();
    return true;
  }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    in_.clear();
    at_ = 0;
  }

  const Server& server_;
  int fd_ = -1;
  std::string request_;
  std::string in_;  // received bytes; those from at_ on are not parsed yet
  size_t at_ = 0;
};

// The first few errors, for stderr.
class Errors {
 public:
  void Add(const std::string& what) {
    std::lock_guard lock(mu_);
    if (++count_ <= kErrorSamples) std::fprintf(stderr, "search_load: error: %s\n", what.c_str());
  }
  uint64_t count() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  uint64_t count_ = 0;
};

// Sends one request and checks for a 2xx answer; false (counted in `errors`) otherwise.
bool Checked(Client& client, std::string_view method, const std::string& target,
             const std::string& body, Answer& answer, Errors& errors) {
  std::string error;
  if (!client.Exchange(method, target, body, answer, error)) {
    errors.Add(std::string(method) + " " + target + ": " + error);
    return false;
  }
  if (answer.status < 200 || answer.status >= 300) {
    errors.Add(std::string(method) + " " + target + ": " + std::to_string(answer.status) + " " +
               answer.body.substr(0, 300));
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// load

std::string BundleOpen() { return R"({"resourceType":"Bundle","type":"transaction","entry":[)"; }

int Load(const Options& options, const Server& server) {
  Errors errors;
  const auto start = Clock::now();
  {
    // The Organizations and Practitioners first: the records refer to them.
    Client client(server);
    std::string bundle = BundleOpen();
    Directory(bundle);
    bundle += "]}";
    Answer answer;
    if (!Checked(client, "POST", options.base, bundle, answer, errors)) return 1;
  }
  const int per_bundle = options.bundle / kPerPatient;
  const int bundles = (options.patients + per_bundle - 1) / per_bundle;
  std::atomic<int> next_bundle = 0;
  std::atomic<long long> loaded = kStations * (1 + kPractitionersPerStation);
  std::atomic<bool> failed = false;
  std::atomic<bool> done = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min(options.concurrency, bundles); ++t) {
    threads.emplace_back([&] {
      Client client(server);
      Answer answer;
      std::string bundle;
      for (int b; !failed && (b = next_bundle++) < bundles;) {
        bundle = BundleOpen();
        const int end = std::min(options.patients, (b + 1) * per_bundle);
        for (int p = b * per_bundle; p < end; ++p) Record(bundle, p);
        bundle += "]}";
        // A failed transaction leaves a hole: stop rather than measure an incomplete population.
        if (!Checked(client, "POST", options.base, bundle, answer, errors)) {
          failed = true;
          return;
        }
        loaded += static_cast<long long>(end - b * per_bundle) * kPerPatient;
      }
    });
  }
  std::thread progress([&] {
    long long before = loaded;
    auto last = Clock::now();
    while (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const auto now = Clock::now();
      if (now - last < std::chrono::seconds(10)) continue;
      const long long done = loaded;
      const double elapsed = std::chrono::duration<double>(now - start).count();
      std::printf(
          "loaded %lld resources in %.0f s: %.0f/s overall, %.0f/s in the last %.0f s\n", done,
          elapsed, static_cast<double>(done) / elapsed,
          static_cast<double>(done - before) / std::chrono::duration<double>(now - last).count(),
          std::chrono::duration<double>(now - last).count());
      std::fflush(stdout);
      before = done;
      last = now;
    }
  });
  for (auto& thread : threads) thread.join();
  done = true;
  progress.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("LOAD resources=%lld bundles=%d seconds=%.1f rate=%.0f errors=%llu\n", loaded.load(),
              bundles + 1, seconds, static_cast<double>(loaded) / seconds,
              static_cast<unsigned long long>(errors.count()));
  return errors.count() > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// query

// A URL query component: unreserved characters as they are, everything else percent-encoded.
std::string Encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string RandomLoinc(std::minstd_rand& random) {
  return std::string(kLoinc) + "|" +
         std::string(kObservationCodes[random() % std::size(kObservationCodes)].code);
}

// The search of `kind` with parameters drawn by `random`, as a request target.
std::string Target(const Options& options, std::string_view kind, std::minstd_rand& random) {
  const int patient = static_cast<int>(random() % static_cast<uint32_t>(options.patients));
  const Person person = PersonOf(patient);
  const std::string identifier =
      "identifier=" + Encode(std::string(kIdCardSystem) + "|" + person.id_card);
  std::string query;
  if (kind == "identifier") {
    query = "Patient?" + identifier;
  } else if (kind == "name-birthdate") {
    const std::string_view name = random() % 2 ? person.family.chinese : person.family.pinyin;
    query = "Patient?name=" + Encode(name) + "&birthdate=" + person.birth_date;
  } else if (kind == "obs-code-date" || kind == "obs-include") {
    const sys_days from = kRecordsStart + days(random() % (kRecordDays - 365));
    query = "Observation?patient=" + PatientId(patient) + "&code=" + Encode(RandomLoinc(random)) +
            "&date=ge" + Day(from) + "&date=lt" + Day(from + days(365)) + "&_sort=date";
    if (kind == "obs-include") query += "&_include=Observation:performer";
  } else if (kind == "has") {
    query = "Patient?_has:Observation:patient:code=" + Encode(RandomLoinc(random));
  } else if (kind == "revinclude") {
    query = "Patient?" + identifier + "&_revinclude=Encounter:patient" +
            "&_revinclude=Condition:patient";
  } else {
    query = "Encounter?service-provider=Organization/station-" +
            std::to_string(random() % kStations + 1) + "&_summary=count";
  }
  return options.base + "/" + query + "&_count=50";
}

size_t Occurrences(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)] / 1000.0;
}

uint32_t ClientSeed(int client) { return static_cast<uint32_t>(client) * 7919u + 17u; }

// Runs one kind; false when any search failed.
bool QueryKind(const Options& options, const Server& server, std::string_view kind) {
  struct Tally {
    std::vector<uint32_t> micros;
    uint64_t matches = 0;
    uint64_t includes = 0;
    uint64_t total = 0;
  };
  std::vector<Tally> tallies(options.concurrency);
  Errors errors;
  std::atomic<long long> remaining = options.requests;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(options.duration_seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < options.concurrency; ++t) {
    threads.emplace_back([&, t] {
      Client client(server);
      Answer answer;
      Tally& tally = tallies[t];
      std::minstd_rand random(ClientSeed(t));
      while (options.requests > 0 ? remaining-- > 0 : Clock::now() < deadline) {
        const std::string target = Target(options, kind, random);
        const auto begin = Clock::now();
        const bool ok = Checked(client, "GET", target, "", answer, errors);
        tally.micros.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - begin).count()));
        if (!ok) continue;
        tally.matches += Occurrences(answer.body, R"("mode":"match")");
        tally.includes += Occurrences(answer.body, R"("mode":"include")");
        if (const size_t at = answer.body.find(R"("total":)"); at != std::string::npos) {
          tally.total += std::strtoull(answer.body.c_str() + at + 8, nullptr, 10);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Tally all;
  for (const Tally& t : tallies) {
    all.micros.insert(all.micros.end(), t.micros.begin(), t.micros.end());
    all.matches += t.matches;
    all.includes += t.includes;
    all.total += t.total;
  }
  std::sort(all.micros.begin(), all.micros.end());
  const double n = static_cast<double>(std::max<size_t>(all.micros.size(), 1));
  // Client 0's first search: the one that a run with one client and one request sends.
  std::minstd_rand sample_random(ClientSeed(0));
  std::printf("%s: e.g. GET %s\n", std::string(kind).c_str(),
              Target(options, kind, sample_random).c_str());
  std::printf(
      "RESULT kind=%s requests=%zu seconds=%.3f rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f "
      "errors=%llu matches=%.1f includes=%.1f total=%.1f\n",
      std::string(kind).c_str(), all.micros.size(), seconds,
      static_cast<double>(all.micros.size()) / seconds, Percentile(all.micros, 0.50),
      Percentile(all.micros, 0.95), Percentile(all.micros, 0.99),
      static_cast<unsigned long long>(errors.count()), static_cast<double>(all.matches) / n,
      static_cast<double>(all.includes) / n, static_cast<double>(all.total) / n);
  std::fflush(stdout);
  return errors.count() == 0;
}

int Main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  auto address = bench::ResolveServer("search_load", options.host, options.port);
  if (!address) return 1;
  const Server server{*address, bench::CommonHeaders(options.host, options.port, options.token)};
  if (options.mode == "load") return Load(options, server);
  bool ok = true;
  for (const std::string& kind : options.kinds) ok = QueryKind(options, server, kind) && ok;
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) { return bench::Main(argc, argv); }
