// The code translations of the HL7 v2 mappings: FHIR ConceptMap JSON files in one folder
// (mappings/hl7v2/conceptmaps in the source tree), read once by Load so they can be edited
// without recompiling. Immutable after Load; safe to read from many threads.
#ifndef MAPPINGS_HL7V2_CONCEPT_MAPS_H_
#define MAPPINGS_HL7V2_CONCEPT_MAPS_H_

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"

namespace mappings::hl7v2 {

struct MappedCode {
  std::string system;  // the group's target
  std::string code;
  std::string display;
};

class ConceptMaps {
 public:
  // Reads every *.json file of `dir` as an R4 ConceptMap (group.source/target, element.code,
  // element.target.code/display), keyed by its `id`. An error names the file and what is wrong
  // with it; an error too when one of `required` ids has no file.
  static fhir::Result<ConceptMaps> Load(const std::filesystem::path& dir,
                                        const std::vector<std::string>& required);

  // The first target of `code` in the map `map_id`, or nullptr. Codes compare exactly, then
  // without regard to ASCII case.
  const MappedCode* Translate(std::string_view map_id, std::string_view code) const;

 private:
  struct Map {
    std::map<std::string, MappedCode, std::less<>> codes;        // source code -> target
    std::map<std::string, std::string, std::less<>> upper_case;  // upper-cased code -> code
  };
  std::map<std::string, Map, std::less<>> maps_;  // by ConceptMap id
};

}  // namespace mappings::hl7v2

#endif  // MAPPINGS_HL7V2_CONCEPT_MAPS_H_
