#include "mappings/hl7v2/mapper.h"

#include "mappings/hl7v2/context.h"
#include "mappings/hl7v2/segment_mappings.h"

namespace mappings::hl7v2 {
namespace {

// The concept maps the mappings read; Load refuses a folder without them.
const std::vector<std::string>& RequiredMaps() {
  static const std::vector<std::string> kMaps = {
      "gbt2261.1-administrative-gender",
      "gbt3304-ethnicity",
      "mdc-loinc",
      "mdc-ucum",
      "v2-0001-administrative-gender",
      "v2-0002-marital-status",
      "v2-0004-encounter-class",
      "v2-0063-relationship",
      "v2-0078-interpretation",
      "v2-0085-observation-status",
      "fhirhub-v2-0085-observation-status",
      "v2-0123-diagnostic-report-status",
      "v2-0278-appointment-status",
      "v2-0127-allergy-category",
      "v2-0128-allergy-criticality",
      "v2-0128-reaction-severity",
      "v2-0190-address-use",
      "v2-0200-name-use",
      "v2-0201-contact-point-use",
      "v2-0202-contact-point-system",
  };
  return kMaps;
}

}  // namespace

fhir::Result<Mapper> Mapper::Load(const std::filesystem::path& conceptmaps_dir) {
  auto maps = ConceptMaps::Load(conceptmaps_dir, RequiredMaps());
  if (!maps.ok()) return std::move(maps).error();
  return Mapper(std::make_shared<const ConceptMaps>(std::move(*maps)));
}

fhir::Result<Mapped> Mapper::Map(const Message& message) const {
  const std::string type = message.Get("MSH-9.1");
  const std::string event = message.Get("MSH-9.2");
  Context context(message, *maps_);
  fhir::Result<void> mapped;
  if (type == "ADT" &&
      (event == "A01" || event == "A04" || event == "A08" || event == "A28" || event == "A31")) {
    mapped = MapAdt(context);
  } else if (type == "ADT" && event == "A40") {
    mapped = MapAdtMerge(context);
  } else if (type == "ORU" && event == "R01") {
    mapped = MapOru(context);
  } else if (type == "ORM" && event == "O01") {
    mapped = MapOrm(context);
  } else if (type == "RDE" && event == "O11") {
    mapped = MapRde(context);
  } else if (type == "SIU" && event == "S12") {
    mapped = MapSiu(context);
  } else {
    return fhir::Error::Invalid(
        "hl7v2.unsupported-message-type",
        "message type " + type + "^" + event +
            " is not mapped (ADT^A01/A04/A08/A28/A31/A40, ORU^R01, ORM^O01, RDE^O11 and SIU^S12 "
            "are)",
        "MSH-9");
  }
  if (!mapped.ok()) return std::move(mapped).error();
  return context.Finish();
}

}  // namespace mappings::hl7v2
