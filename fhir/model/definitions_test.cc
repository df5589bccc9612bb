#include "fhir/model/definitions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/test_definitions.h"

namespace fhir::model {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> ElementNames(const TypeDef& type) {
  std::vector<std::string> names;
  for (const ElementDef& e : type.elements) names.push_back(e.name);
  return names;
}

std::vector<std::string> TypeNames(const ElementDef& element) {
  std::vector<std::string> names;
  for (const TypeDef* t : element.types) names.push_back(t->name);
  return names;
}

TEST(DefinitionsTest, CountsTypesOfTheR4Package) {
  const Definitions& defs = testing_support::Definitions();
  // 146 concrete resources, 2 abstract ones, 41 complex types with Element and BackboneElement,
  // 20 primitives, and 473 inline backbone elements.
  EXPECT_EQ(defs.resources().size(), 146u);
  EXPECT_EQ(defs.types().size(), 209u + 473u);
  size_t primitives = 0;
  for (const TypeDef* t : defs.types()) primitives += t->is_primitive() ? 1 : 0;
  EXPECT_EQ(primitives, 20u);
  for (size_t i = 1; i < defs.types().size(); ++i) {
    EXPECT_LT(defs.types()[i - 1]->name, defs.types()[i]->name);
  }
  EXPECT_EQ(defs.resources().front()->name, "Account");
  EXPECT_EQ(defs.resources().back()->name, "VisionPrescription");
}

TEST(DefinitionsTest, FindsResourcesButNotAbstractOnes) {
  const Definitions& defs = testing_support::Definitions();
  ASSERT_NE(defs.FindResource("Patient"), nullptr);
  EXPECT_EQ(defs.FindResource("Patient")->url, "http://hl7.org/fhir/StructureDefinition/Patient");
  EXPECT_EQ(defs.FindResource("Resource"), nullptr);
  EXPECT_EQ(defs.FindResource("DomainResource"), nullptr);
  EXPECT_EQ(defs.FindResource("HumanName"), nullptr);
  EXPECT_EQ(defs.FindResource("patient"), nullptr);
  ASSERT_NE(defs.FindType("DomainResource"), nullptr);
  EXPECT_TRUE(defs.FindType("DomainResource")->is_abstract);
  EXPECT_EQ(defs.FindType("SimpleQuantity"), nullptr);  // a profile, not a type
  EXPECT_EQ(defs.FindType("FiveWs"), nullptr);          // a logical model
}

TEST(DefinitionsTest, PatientElementsInDefinitionOrder) {
  const TypeDef* patient = testing_support::Definitions().FindResource("Patient");
  ASSERT_NE(patient, nullptr);
  EXPECT_EQ(patient->kind, TypeKind::kResource);
  EXPECT_THAT(ElementNames(*patient),
              ElementsAre("id", "meta", "implicitRules", "language", "text", "contained",
                          "extension", "modifierExtension", "identifier", "active", "name",
                          "telecom", "gender", "birthDate", "deceased", "address", "maritalStatus",
                          "multipleBirth", "photo", "contact", "communication",
                          "generalPractitioner", "managingOrganization", "link"));
  for (size_t i = 0; i < patient->elements.size(); ++i) {
    EXPECT_EQ(patient->elements[i].index, i);
    EXPECT_EQ(patient->elements[i].owner, patient);
  }
  const ElementDef* name = patient->FindElementByName("name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->path, "Patient.name");
  EXPECT_EQ(name->min, 0u);
  EXPECT_EQ(name->max, kUnbounded);
  EXPECT_TRUE(name->repeats());
  EXPECT_TRUE(name->summary);
  EXPECT_THAT(TypeNames(*name), ElementsAre("HumanName"));
  const ElementDef* active = patient->FindElementByName("active");
  EXPECT_TRUE(active->modifier);
  EXPECT_FALSE(active->repeats());
  EXPECT_FALSE(patient->FindElementByName("photo")->summary);
}

TEST(DefinitionsTest, ChoiceElementsResolveByTypeSuffix) {
  const TypeDef* observation = testing_support::Definitions().FindResource("Observation");
  ASSERT_NE(observation, nullptr);
  const ElementDef* value = observation->FindElementByName("value");
  ASSERT_NE(value, nullptr);
  EXPECT_TRUE(value->is_choice);
  EXPECT_EQ(value->path, "Observation.value[x]");
  EXPECT_THAT(TypeNames(*value),
              ElementsAre("Quantity", "CodeableConcept", "string", "boolean", "integer", "Range",
                          "Ratio", "SampledData", "time", "dateTime", "Period"));

  const TypeDef* chosen = nullptr;
  EXPECT_EQ(observation->FindElement("valueQuantity", &chosen), value);
  EXPECT_EQ(chosen->name, "Quantity");
  EXPECT_EQ(observation->FindElement("valueDateTime", &chosen), value);
  EXPECT_EQ(chosen->name, "dateTime");
  EXPECT_EQ(observation->FindElement("valueString", &chosen), value);
  EXPECT_EQ(chosen->name, "string");
  // The base name and wrong spellings are not JSON names.
  EXPECT_EQ(observation->FindElement("value", &chosen), nullptr);
  EXPECT_EQ(chosen, nullptr);
  EXPECT_EQ(observation->FindElement("valuedateTime", &chosen), nullptr);
  EXPECT_EQ(observation->FindElement("valueReference", &chosen), nullptr);
  EXPECT_EQ(observation->FindElement("value[x]", &chosen), nullptr);

  const TypeDef* subject_type = nullptr;
  const ElementDef* subject = observation->FindElement("subject", &subject_type);
  ASSERT_NE(subject, nullptr);
  EXPECT_EQ(subject_type->name, "Reference");

  const TypeDef* extension = testing_support::Definitions().FindType("Extension");
  EXPECT_NE(extension->FindElement("valueReference", &chosen), nullptr);
  EXPECT_EQ(chosen->name, "Reference");
  EXPECT_NE(extension->FindElement("valueBase64Binary", &chosen), nullptr);
  EXPECT_EQ(chosen->name, "base64Binary");
}

TEST(DefinitionsTest, BackboneElementsAreTypes) {
  const Definitions& defs = testing_support::Definitions();
  const TypeDef* contact = defs.FindType("Patient.contact");
  ASSERT_NE(contact, nullptr);
  EXPECT_EQ(contact->kind, TypeKind::kBackbone);
  EXPECT_TRUE(contact->url.empty());
  EXPECT_EQ(contact->base, defs.FindType("BackboneElement"));
  EXPECT_THAT(ElementNames(*contact),
              ElementsAre("id", "extension", "modifierExtension", "relationship", "name", "telecom",
                          "address", "gender", "organization", "period"));
  EXPECT_TRUE(contact->FindElementByName("modifierExtension")->summary);
  EXPECT_EQ(contact->elements[4].path, "Patient.contact.name");

  const TypeDef* chosen = nullptr;
  const ElementDef* element = defs.FindResource("Patient")->FindElement("contact", &chosen);
  ASSERT_NE(element, nullptr);
  EXPECT_EQ(chosen, contact);

  const TypeDef* request = defs.FindType("Bundle.entry.request");
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(defs.FindType("Bundle.entry")->FindElementByName("request")->types[0], request);

  // Inline elements of datatypes derive from Element and have no modifierExtension.
  const TypeDef* repeat = defs.FindType("Timing.repeat");
  ASSERT_NE(repeat, nullptr);
  EXPECT_EQ(repeat->kind, TypeKind::kBackbone);
  EXPECT_EQ(repeat->base, defs.FindType("Element"));
  EXPECT_EQ(repeat->elements[0].name, "id");
  EXPECT_EQ(repeat->elements[1].name, "extension");
  EXPECT_EQ(repeat->elements[2].name, "bounds");
  EXPECT_NE(defs.FindType("Dosage.doseAndRate"), nullptr);
  EXPECT_NE(defs.FindType("ElementDefinition.slicing"), nullptr);
  EXPECT_NE(defs.FindType("ElementDefinition.slicing.discriminator"), nullptr);
}

TEST(DefinitionsTest, ContentReferencesShareTheReferencedBackbone) {
  const Definitions& defs = testing_support::Definitions();
  const TypeDef* item = defs.FindType("Questionnaire.item");
  ASSERT_NE(item, nullptr);
  const TypeDef* chosen = nullptr;
  const ElementDef* nested = item->FindElement("item", &chosen);
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->path, "Questionnaire.item.item");
  EXPECT_EQ(chosen, item);
  EXPECT_EQ(defs.FindType("Questionnaire.item.item"), nullptr);

  const TypeDef* contains = defs.FindType("ValueSet.expansion.contains");
  ASSERT_NE(contains, nullptr);
  EXPECT_EQ(contains->FindElementByName("contains")->types[0], contains);
  EXPECT_EQ(contains->FindElementByName("designation")->types[0],
            defs.FindType("ValueSet.compose.include.concept.designation"));

  // The reference points to an element defined later in the same StructureDefinition.
  const TypeDef* spec = defs.FindResource("SubstanceSpecification");
  EXPECT_EQ(spec->FindElementByName("molecularWeight")->types[0],
            defs.FindType("SubstanceSpecification.structure.isotope.molecularWeight"));
  EXPECT_EQ(defs.FindType("Parameters.parameter")->FindElementByName("part")->types[0],
            defs.FindType("Parameters.parameter"));
}

TEST(DefinitionsTest, ContainedResourcesHaveTheAbstractResourceType) {
  const Definitions& defs = testing_support::Definitions();
  const TypeDef* resource = defs.FindType("Resource");
  const TypeDef* chosen = resource;
  const ElementDef* contained = defs.FindResource("Patient")->FindElement("contained", &chosen);
  ASSERT_NE(contained, nullptr);
  EXPECT_EQ(chosen, nullptr);
  EXPECT_THAT(TypeNames(*contained), ElementsAre("Resource"));

  chosen = resource;
  const ElementDef* entry_resource =
      defs.FindType("Bundle.entry")->FindElement("resource", &chosen);
  ASSERT_NE(entry_resource, nullptr);
  EXPECT_EQ(chosen, nullptr);
  EXPECT_EQ(entry_resource->types[0], resource);

  chosen = resource;
  EXPECT_NE(defs.FindType("Parameters.parameter")->FindElement("resource", &chosen), nullptr);
  EXPECT_EQ(chosen, nullptr);
}

TEST(DefinitionsTest, SpecialElements) {
  const Definitions& defs = testing_support::Definitions();
  const ElementDef* div = defs.FindType("Narrative")->FindElementByName("div");
  ASSERT_NE(div, nullptr);
  EXPECT_TRUE(div->xhtml);
  EXPECT_EQ(div->types[0]->primitive, PrimitiveKind::kXhtml);
  EXPECT_FALSE(defs.FindType("Narrative")->FindElementByName("status")->xhtml);

  const ElementDef* url = defs.FindType("Extension")->FindElementByName("url");
  ASSERT_NE(url, nullptr);
  EXPECT_TRUE(url->xml_attribute);
  EXPECT_EQ(url->min, 1u);
  EXPECT_THAT(TypeNames(*url), ElementsAre("uri"));

  const ElementDef* element_id = defs.FindType("Element")->FindElementByName("id");
  EXPECT_TRUE(element_id->xml_attribute);
  EXPECT_THAT(TypeNames(*element_id), ElementsAre("string"));
  EXPECT_TRUE(defs.FindType("HumanName")->FindElementByName("id")->xml_attribute);
  EXPECT_THAT(TypeNames(*defs.FindType("Patient.contact")->FindElementByName("id")),
              ElementsAre("string"));

  for (const char* name : {"Resource", "DomainResource", "Patient", "Bundle", "Binary"}) {
    const ElementDef* id = defs.FindType(name)->FindElementByName("id");
    ASSERT_NE(id, nullptr) << name;
    EXPECT_THAT(TypeNames(*id), ElementsAre("id")) << name;
    EXPECT_FALSE(id->xml_attribute) << name;
    EXPECT_TRUE(id->summary) << name;
  }
}

TEST(DefinitionsTest, PrimitiveTypes) {
  const Definitions& defs = testing_support::Definitions();
  const TypeDef* date_time = defs.FindType("dateTime");
  ASSERT_NE(date_time, nullptr);
  EXPECT_TRUE(date_time->is_primitive());
  EXPECT_EQ(date_time->primitive, PrimitiveKind::kDateTime);
  EXPECT_THAT(ElementNames(*date_time), ElementsAre("id", "extension"));
  EXPECT_EQ(defs.FindType("positiveInt")->primitive, PrimitiveKind::kPositiveInt);
  EXPECT_EQ(defs.FindType("base64Binary")->primitive, PrimitiveKind::kBase64Binary);
  EXPECT_EQ(defs.FindType("xhtml")->primitive, PrimitiveKind::kXhtml);
  EXPECT_THAT(ElementNames(*defs.FindType("xhtml")), ElementsAre("id", "extension"));
  EXPECT_EQ(defs.FindType("HumanName")->primitive, PrimitiveKind::kNone);
  for (const TypeDef* t : defs.types()) {
    EXPECT_EQ(t->is_primitive(), t->primitive != PrimitiveKind::kNone) << t->name;
  }
  const TypeDef* chosen = nullptr;
  EXPECT_EQ(date_time->FindElement("value", &chosen), nullptr);
  EXPECT_NE(date_time->FindElement("extension", &chosen), nullptr);
  EXPECT_EQ(chosen->name, "Extension");
}

TEST(DefinitionsTest, InheritanceFollowsBaseDefinitions) {
  const Definitions& defs = testing_support::Definitions();
  const TypeDef* patient = defs.FindResource("Patient");
  const TypeDef* domain = defs.FindType("DomainResource");
  const TypeDef* resource = defs.FindType("Resource");
  const TypeDef* element = defs.FindType("Element");
  EXPECT_EQ(patient->base, domain);
  EXPECT_EQ(domain->base, resource);
  EXPECT_EQ(resource->base, nullptr);
  EXPECT_EQ(element->base, nullptr);
  EXPECT_TRUE(patient->IsA(*resource));
  EXPECT_TRUE(patient->IsA(*patient));
  EXPECT_FALSE(resource->IsA(*patient));
  EXPECT_FALSE(defs.FindResource("Bundle")->IsA(*domain));  // Bundle is a Resource only
  EXPECT_TRUE(defs.FindResource("Bundle")->IsA(*resource));
  EXPECT_TRUE(defs.FindType("HumanName")->IsA(*element));
  EXPECT_FALSE(defs.FindType("HumanName")->IsA(*resource));
  EXPECT_TRUE(defs.FindType("code")->IsA(*defs.FindType("string")));
  EXPECT_TRUE(defs.FindType("Patient.contact")->IsA(*defs.FindType("BackboneElement")));
  EXPECT_TRUE(defs.FindType("Patient.contact")->IsA(*element));
  for (const TypeDef* t : defs.types()) {
    if (t != element && t != resource) {
      EXPECT_NE(t->base, nullptr) << t->name;
    }
  }
}

TEST(DefinitionsTest, EveryElementIsFoundByItsNames) {
  for (const TypeDef* t : testing_support::Definitions().types()) {
    ASSERT_NE(t->lookup, nullptr) << t->name;
    for (const ElementDef& e : t->elements) {
      EXPECT_EQ(t->FindElementByName(e.name), &e) << e.path;
      EXPECT_FALSE(e.types.empty()) << e.path;
      EXPECT_EQ(e.owner, t);
      if (!e.is_choice) {
        const TypeDef* chosen = nullptr;
        EXPECT_EQ(t->FindElement(e.name, &chosen), &e) << e.path;
      }
    }
  }
}

TEST(DefinitionsTest, LoadFromJsonIgnoresOtherContent) {
  std::vector<std::string> texts;
  for (const char* name :
       {"Element", "BackboneElement", "Resource", "string", "id", "uri", "Extension", "boolean"}) {
    texts.push_back(testing_support::ReadFile(
        testing_support::PackageDir() / ("StructureDefinition-" + std::string(name) + ".json")));
  }
  auto missing = Definitions::LoadFromJson(texts);
  ASSERT_FALSE(missing.ok());  // Extension.value[x] names many types not given here
  EXPECT_EQ(missing.error().message_id(), "definitions.missing-type");

  auto garbage = Definitions::LoadFromJson({"{"});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().message_id(), "definitions.invalid-json");

  auto none = Definitions::LoadFromJson({R"({"resourceType":"Patient"})"});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message_id(), "definitions.missing-type");
}

TEST(DefinitionsTest, MissingFolderIsAnError) {
  auto loaded = Definitions::LoadFromDirectory("/nonexistent/fhir/package");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message_id(), "definitions.package-missing");
  EXPECT_EQ(loaded.error().http_status(), 500);
}

}  // namespace
}  // namespace fhir::model
