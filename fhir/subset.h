// _summary and _elements: the subset of a resource a client asked for, decided by the
// definitions' summary flags. Writers serialise the returned copy like any other resource.
//
// Choices where the specification (search.html#summary, #elements) leaves room:
// - kTrue applies at every level the flags of the element's own definition: datatypes' elements
//   by the datatype, a resource inside a Bundle or Parameters by that resource's definition.
//   Element ids and extensions are not summary elements, so they go (a primitive left with
//   nothing goes too); contained resources are not either. A kept Extension (e.g. a backbone's
//   modifierExtension) stays whole.
// - kText and kData work on top-level elements only.
// - A non-empty `elements` list takes precedence over `mode`; names are base names ("value") or
//   JSON names ("valueQuantity"); names that match nothing are ignored.
// - The SUBSETTED tag is added only when something was removed, and not twice.
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

// For the Bundle a search or history answers: a copy whose entries' resources are each reduced as
// Subset does (the Bundle itself is kept whole), as _summary and _elements apply to the matches.
Resource SubsetEntries(const Resource& bundle, SummaryMode mode,
                       const std::vector<std::string>& elements = {});

}  // namespace fhir

#endif  // FHIR_SUBSET_H_
