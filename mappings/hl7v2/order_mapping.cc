// ORM^O01 -> ServiceRequest (ORC, OBR, NTE), after the v2-to-FHIR segment maps
// ORC[ServiceRequest] and OBR[ServiceRequest].
#include <string>
#include <vector>

#include "mappings/hl7v2/segment_mappings.h"

namespace mappings::hl7v2 {
namespace {

Json Reference(std::string_view url) { return Json::Object().Set("reference", url); }

struct Order {
  Json resource;
  std::string method, system, value;
  std::string source;  // the order number it is found by, else the OBR
};

class OrmMapper {
 public:
  OrmMapper(Context& context, PatientEntry patient) : context_(context), patient_(patient) {}

  fhir::Result<void> Run() {
    const Message& message = context_.message();
    for (std::size_t i = 0; i < message.segment_count(); ++i) {
      Segment segment = message.segment(i);
      const std::string_view name = segment.name();
      if (name == "ORC") {
        orc_ = i;
        has_orc_ = true;
      } else if (name == "OBR") {
        if (!has_orc_) {
          return fhir::Error::Invalid("hl7v2.segment-sequence", "OBR without its ORC",
                                      segment.Location());
        }
        auto added = AddOrder(message.segment(orc_), segment);
        if (!added.ok()) return added;
      } else if (name == "NTE" && !orders_.empty()) {
        Note(segment);
      } else if (name == "ODS" || name == "ODT" || name == "RQD" || name == "RQ1" ||
                 name == "RXO") {
        // Diet, supply and pharmacy orders are other resources than ServiceRequest.
        return fhir::Error::Invalid(
            "hl7v2.unsupported-message-type",
            "ORM^O01 with " + std::string(name) + " order detail is not mapped (OBR is)",
            std::string(name));
      }
    }
    if (orders_.empty()) {
      return fhir::Error::Invalid("hl7v2.segment-sequence", "ORM message without ORC and OBR",
                                  "ORC");
    }
    for (Order& order : orders_) {
      const std::string query = context_.IdentifierQuery(order.system, order.value);
      const std::string key = "ServiceRequest|" + order.system + "|" + order.value;
      if (order.method == "PUT") {
        context_.Add(std::move(order.resource), "PUT", "ServiceRequest?" + query, "", key,
                     std::move(order.source));
      } else {
        context_.Add(std::move(order.resource), "POST", "ServiceRequest", query, key,
                     std::move(order.source));
      }
    }
    return {};
  }

 private:
  // The order number: ORC-2/OBR-2 placer, else ORC-3/OBR-3 filler; `location` where it is.
  Json OrderIdentifier(const Segment& orc, const Segment& obr, std::string* type,
                       std::string* location) {
    struct Source {
      const Segment& segment;
      std::size_t field;
      const char* type;
      const char* kind;
    };
    for (const Source& s : {Source{orc, 2, "PLAC", "placer"}, Source{obr, 2, "PLAC", "placer"},
                            Source{orc, 3, "FILL", "filler"}, Source{obr, 3, "FILL", "filler"}}) {
      FieldRef ei{s.segment, s.field};
      if (ei.Get(1).empty()) continue;
      std::string system = Context::AuthoritySystem(ei.Get(2), ei.Get(3), ei.Get(4));
      if (system.empty()) system = context_.SourceSystem(s.kind);
      *type = s.type;
      *location = ei.Location(1);
      return Json::Object().Set("system", system).Set("value", ei.Get(1));
    }
    return {};
  }

  fhir::Result<void> AddOrder(const Segment& orc, const Segment& obr) {
    Json code = context_.CodeableConcept(FieldRef{obr, 4});
    if (code.empty()) {
      return fhir::Error::Invalid("hl7v2.required-field-missing",
                                  "OBR-4 (universal service identifier) is empty",
                                  obr.Location(4, 1, 1));
    }
    Order order;
    std::string type;
    Json identifier = OrderIdentifier(orc, obr, &type, &order.source);
    // An order number makes the order updatable (a later ORM cancels or holds it); without one
    // the order of this message is created once.
    order.method = identifier.empty() ? "POST" : "PUT";
    if (identifier.empty()) {
      order.source = obr.Location();
      identifier =
          Json::Object()
              .Set("system", context_.SourceSystem("order"))
              .Set("value", context_.message().Get("MSH-10") + "-" + std::to_string(obr.ordinal()));
    } else {
      identifier.Set(
          "type", Json::Object().Set(
                      "coding", Json::Array().Push(context_.Coding(
                                    type, "", "http://terminology.hl7.org/CodeSystem/v2-0203"))));
    }
    order.system = identifier.Find("system")->text();
    order.value = identifier.Find("value")->text();
    Json resource = Json::Object().Set("resourceType", "ServiceRequest");
    resource.Set("identifier", Json::Array().Push(std::move(identifier)));
    std::string status = context_.TranslatedCode("v2-0038-request-status", orc.Get(5));
    if (status.empty()) status = context_.TranslatedCode("v2-0119-request-status", orc.Get(1));
    resource.Set("status", status.empty() ? "active" : status);
    resource.Set("intent", "order");
    const std::string priority = obr.Get(5).empty() ? orc.Get(7, 1, 6) : obr.Get(5);
    if (priority == "S") {
      resource.Set("priority", "stat");
    } else if (priority == "A") {
      resource.Set("priority", "asap");
    } else if (priority == "R") {
      resource.Set("priority", "routine");
    }
    resource.Set("code", std::move(code));
    resource.Set("subject", Reference(patient_.full_url));
    resource.Set("occurrenceDateTime", context_.DateTime(obr.Get(7), obr.Location(7)));
    resource.Set("authoredOn", context_.DateTime(orc.Get(9), orc.Location(9)));
    Json requester = context_.PractitionerReference(FieldRef{orc, 12});
    if (requester.empty()) requester = context_.PractitionerReference(FieldRef{obr, 16});
    resource.Set("requester", std::move(requester));
    Json reasons = Json::Array();
    for (std::size_t r = 1; r <= obr.RepetitionCount(31); ++r) {
      reasons.Push(context_.CodeableConcept(FieldRef{obr, 31, r}));
    }
    resource.Set("reasonCode", std::move(reasons));
    order.resource = std::move(resource);
    orders_.push_back(std::move(order));
    return {};
  }

  void Note(const Segment& nte) {
    const std::string text = nte.Get(3);
    if (!Valued(text)) return;
    Json& resource = orders_.back().resource;
    if (Json* notes = resource.Find("note")) {
      notes->Push(Json::Object().Set("text", text));
    } else {
      resource.Set("note", Json::Array().Push(Json::Object().Set("text", text)));
    }
  }

  Context& context_;
  PatientEntry patient_;
  std::size_t orc_ = 0;
  bool has_orc_ = false;
  std::vector<Order> orders_;
};

}  // namespace

fhir::Result<void> MapOrm(Context& context) {
  const Message& message = context.message();
  const std::size_t pid_index = message.Find("PID");
  if (pid_index == message.segment_count()) {
    return fhir::Error::Invalid("hl7v2.segment-sequence", "ORM message without PID", "PID");
  }
  auto patient = MapPatient(context, message.segment(pid_index), false);
  if (!patient.ok()) return std::move(patient).error();
  OrmMapper mapper(context, *patient);
  return mapper.Run();
}

}  // namespace mappings::hl7v2
