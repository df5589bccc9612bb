// Codec throughput over a fixed corpus (the 873 R4 examples of tests/data/fhir-r4-xml-json-pairs),
// each figure beside the raw library doing only its own work on the same bytes in the same run:
//   JSON parse with structural checks   vs  rapidjson::Document::Parse
//   JSON write                          vs  rapidjson::Writer over that Document
//   XML parse with structural checks    vs  libxml2 xmlReadMemory
//   XML write                           vs  libxml2 xmlDocDumpMemory
// plus the time and heap taken to load the R4 definitions registry.
#include <benchmark/benchmark.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <malloc.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "fhir/json/json.h"
#include "fhir/xml/xml.h"
#include "tests/support/test_definitions.h"

namespace {

struct Corpus {
  std::vector<std::string> files;
  size_t bytes = 0;
};

const Corpus& Load(const char* format) {
  static Corpus json, xml;
  Corpus& corpus = std::string_view(format) == "json" ? json : xml;
  if (corpus.files.empty()) {
    const auto dir = testing_support::TestDataDir() / "fhir-r4-xml-json-pairs" / format;
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      paths.push_back(entry.path());
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
      corpus.files.push_back(testing_support::ReadFile(path));
      corpus.bytes += corpus.files.back().size();
    }
  }
  return corpus;
}

void Done(benchmark::State& state, size_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_JsonParse_RapidJson(benchmark::State& state) {
  const Corpus& corpus = Load("json");
  for (auto _ : state) {
    for (const std::string& file : corpus.files) {
      rapidjson::Document doc;
      doc.Parse(file.data(), file.size());
      benchmark::DoNotOptimize(doc.HasParseError());
    }
  }
  Done(state, corpus.bytes);
}

void BM_JsonParse_Fhirhub(benchmark::State& state) {
  const Corpus& corpus = Load("json");
  const auto& defs = testing_support::Definitions();
  for (auto _ : state) {
    for (const std::string& file : corpus.files) {
      auto resource = fhir::json::Parse(file, defs);
      benchmark::DoNotOptimize(resource.ok());
    }
  }
  Done(state, corpus.bytes);
}

void BM_JsonWrite_RapidJson(benchmark::State& state) {
  const Corpus& corpus = Load("json");
  std::vector<rapidjson::Document> docs(corpus.files.size());
  for (size_t i = 0; i < docs.size(); ++i) docs[i].Parse(corpus.files[i].c_str());
  for (auto _ : state) {
    for (const auto& doc : docs) {
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      doc.Accept(writer);
      benchmark::DoNotOptimize(buffer.GetSize());
    }
  }
  Done(state, corpus.bytes);
}

void BM_JsonWrite_Fhirhub(benchmark::State& state) {
  const Corpus& corpus = Load("json");
  const auto& defs = testing_support::Definitions();
  std::vector<fhir::Resource> resources;
  for (const std::string& file : corpus.files) resources.push_back(*fhir::json::Parse(file, defs));
  for (auto _ : state) {
    for (const auto& resource : resources) {
      std::string out = fhir::json::Write(resource);
      benchmark::DoNotOptimize(out.size());
    }
  }
  Done(state, corpus.bytes);
}

void BM_XmlParse_Libxml2(benchmark::State& state) {
  const Corpus& corpus = Load("xml");
  for (auto _ : state) {
    for (const std::string& file : corpus.files) {
      xmlDocPtr doc = xmlReadMemory(file.data(), static_cast<int>(file.size()), nullptr, nullptr,
                                    XML_PARSE_NONET | XML_PARSE_NOBLANKS);
      benchmark::DoNotOptimize(doc);
      xmlFreeDoc(doc);
    }
  }
  Done(state, corpus.bytes);
}

void BM_XmlParse_Fhirhub(benchmark::State& state) {
  const Corpus& corpus = Load("xml");
  const auto& defs = testing_support::Definitions();
  for (auto _ : state) {
    for (const std::string& file : corpus.files) {
      auto resource = fhir::xml::Parse(file, defs);
      benchmark::DoNotOptimize(resource.ok());
    }
  }
  Done(state, corpus.bytes);
}

void BM_XmlWrite_Libxml2(benchmark::State& state) {
  const Corpus& corpus = Load("xml");
  std::vector<xmlDocPtr> docs;
  for (const std::string& file : corpus.files) {
    docs.push_back(xmlReadMemory(file.data(), static_cast<int>(file.size()), nullptr, nullptr,
                                 XML_PARSE_NONET | XML_PARSE_NOBLANKS));
  }
  for (auto _ : state) {
    for (xmlDocPtr doc : docs) {
      xmlChar* out = nullptr;
      int size = 0;
      xmlDocDumpMemory(doc, &out, &size);
      benchmark::DoNotOptimize(size);
      xmlFree(out);
    }
  }
  for (xmlDocPtr doc : docs) xmlFreeDoc(doc);
  Done(state, corpus.bytes);
}

void BM_XmlWrite_Fhirhub(benchmark::State& state) {
  const Corpus& corpus = Load("xml");
  const auto& defs = testing_support::Definitions();
  std::vector<fhir::Resource> resources;
  for (const std::string& file : corpus.files) resources.push_back(*fhir::xml::Parse(file, defs));
  for (auto _ : state) {
    for (const auto& resource : resources) {
      std::string out = fhir::xml::Write(resource);
      benchmark::DoNotOptimize(out.size());
    }
  }
  Done(state, corpus.bytes);
}

// Bytes in use on the heap, small blocks and mmapped ones alike.
size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

void BM_DefinitionsLoad(benchmark::State& state) {
  size_t heap = 0;
  for (auto _ : state) {
    const size_t before = HeapInUse();
    auto defs = fhir::model::Definitions::LoadFromDirectory(testing_support::PackageDir());
    heap = HeapInUse() - before;
    benchmark::DoNotOptimize(defs.ok());
  }
  state.counters["heap_MB"] = static_cast<double>(heap) / (1 << 20);
}

BENCHMARK(BM_JsonParse_RapidJson)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_JsonParse_Fhirhub)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_JsonWrite_RapidJson)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_JsonWrite_Fhirhub)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_XmlParse_Libxml2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_XmlParse_Fhirhub)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_XmlWrite_Libxml2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_XmlWrite_Fhirhub)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DefinitionsLoad)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
