// Comparison for the round-trip suites, independent of the codecs under test: JSON is read with
// RapidJSON keeping number tokens as text (so "1.50" and "1.5" differ, and a number never equals a
// string), XML with libxml2's tree parser, and DOMs are walked node by node. Each comparison
// returns an empty string when the two are equal, else a description of the first difference
// with its path.
#ifndef TESTS_ROUNDTRIP_COMPARE_H_
#define TESTS_ROUNDTRIP_COMPARE_H_

#include <string>
#include <string_view>

#include "fhir/element.h"

namespace roundtrip {

// How Narrative.div markup (a JSON string property "div") is compared.
enum class DivComparison {
  kExact,  // the same string
  // Whitespace runs collapsed to one space and dropped next to tags, as HTML renders them. Only
  // for the pairs whose two source files carry differently indented narratives.
  kCollapseWhitespace,
  // The same XHTML infoset (names, namespaces, attributes, text): for narratives that are not in
  // the canonical serialisation the XML parser produces (<td></td>, CRLF, newlines in attribute
  // values), which XML cannot tell apart from their canonical forms.
  kInfoset,
};

struct CompareOptions {
  DivComparison div = DivComparison::kExact;
  // Drops the "test health data" label (system v3-ActReason, code HTEST) from meta.security and
  // meta.tag on both sides, and a meta left empty. The paired example files disagree on it: the
  // XML files put it in meta.security, the JSON files in meta.tag or nowhere.
  bool ignore_test_data_label = false;
};

// JSON values: objects compared as unordered maps, numbers by their token text.
std::string JsonDifference(std::string_view expected, std::string_view actual,
                           const CompareOptions& options = {});

// XML infosets: element local names and namespaces, attributes (namespace declarations and
// xsi:* attributes aside) and text. Comments and processing instructions are ignored, and so is
// whitespace-only text outside XHTML; text in the XHTML namespace is compared per `div`
// (kInfoset: exactly).
std::string XmlDifference(std::string_view expected, std::string_view actual,
                          const CompareOptions& options = {});

// Resource DOMs: the same elements, types and values in the same order; Narrative.div markup is
// compared per `div`.
std::string DomDifference(const fhir::Node& expected, const fhir::Node& actual, DivComparison div);

}  // namespace roundtrip

#endif  // TESTS_ROUNDTRIP_COMPARE_H_
