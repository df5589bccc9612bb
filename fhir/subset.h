// _summary and _elements: the subset of a resource a client asked for, decided by the
// definitions' summary flags. Writers serialise the returned copy like any other resource.
#ifndef FHIR_SUBSET_H_
#define FHIR_SUBSET_H_

#include <string>
#include <vector>

#include "fhir/element.h"
#include "fhir/result.h"

namespace fhir {

enum class SummaryMode {
  kFalse,  // the whole resource
  kTrue,   // elements marked isSummary (and mandatory ones), recursively
  kText,   // text, id, meta and top-level mandatory elements
  kData,   // everything but text
};

// Parses the _summary parameter value ("true", "text", "data", "false"); "count" is a search
// concern and is refused here.
Result<SummaryMode> ParseSummaryMode(std::string_view value);

// A copy of `resource` reduced per `mode`, or to the top-level `elements` (plus id, meta and
// mandatory elements) when the list is not empty. A reduced copy carries the SUBSETTED tag
// (http://terminology.hl7.org/CodeSystem/v3-ObservationValue) in meta.tag.
Resource Subset(const Resource& resource, SummaryMode mode,
                const std::vector<std::string>& elements = {});

}  // namespace fhir

#endif  // FHIR_SUBSET_H_
