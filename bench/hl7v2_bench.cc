// HL7 v2 parsing: an ORU^R01 with 10 OBX (bench/hl7v2_oru_r01.hl7) parsed and every value read
// (each sub-component of each component of each repetition of each field, unescaped), and the
// same message mapped to its FHIR Bundle. bench/hl7v2_compare.sh sets the first beside the
// JavaScript parser of @medplum/core doing the same.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "mappings/hl7v2/er7.h"
#include "mappings/hl7v2/mapper.h"

namespace {

std::string ReadMessage() {
  std::ifstream in(HL7V2_BENCH_MESSAGE, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", HL7V2_BENCH_MESSAGE);
    std::abort();
  }
  return text.str();
}

// Reads every value; returns their total length so nothing is optimised away.
std::size_t ReadAll(const mappings::hl7v2::Message& message) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < message.segment_count(); ++i) {
    mappings::hl7v2::Segment segment = message.segment(i);
    for (std::size_t f = 1; f <= segment.field_count(); ++f) {
      for (std::size_t r = 1; r <= segment.RepetitionCount(f); ++r) {
        for (std::size_t c = 1; c <= segment.ComponentCount(f, r); ++c) {
          for (std::size_t s = 1; s <= segment.SubcomponentCount(f, r, c); ++s) {
            total += segment.Get(f, r, c, s).size();
          }
        }
      }
    }
  }
  return total;
}

void BM_ParseAndReadAll(benchmark::State& state) {
  const std::string text = ReadMessage();
  for (auto _ : state) {
    auto message = mappings::hl7v2::Parse(text);
    if (!message.ok()) {
      state.SkipWithError("parse failed");
      break;
    }
    benchmark::DoNotOptimize(ReadAll(*message));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParseAndReadAll);

void BM_ParseAndMap(benchmark::State& state) {
  const std::string text = ReadMessage();
  auto mapper = mappings::hl7v2::Mapper::Load(HL7V2_BENCH_CONCEPTMAPS);
  if (!mapper.ok()) {
    state.SkipWithError("concept maps not loaded");
    return;
  }
  for (auto _ : state) {
    auto message = mappings::hl7v2::Parse(text);
    auto mapped = mapper->Map(*message);
    benchmark::DoNotOptimize(mapped.ok() ? mapped->bundle_json.size() : 0);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseAndMap);

}  // namespace

BENCHMARK_MAIN();
