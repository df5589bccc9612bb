// Loading the FHIR R4 definitions the server runs on, from the hl7.fhir.r4.examples@4.0.1 npm
// package either unpacked (a folder, as scripts/bootstrap prepares it) or as the downloaded
// .tgz file itself, for hospital networks without registry access.
#ifndef SERVER_MAIN_FHIR_PACKAGE_H_
#define SERVER_MAIN_FHIR_PACKAGE_H_

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fhir/model/definitions.h"
#include "fhir/result.h"
#include "server/search/compartments.h"
#include "server/search/registry.h"
#include "server/terminology/terminology.h"

namespace server::main {

// `location` is the package folder (holding StructureDefinition-*.json, or holding "package/"
// that does), or a .tgz file. Without a location, the folder scripts/bootstrap prepared is used.
fhir::Result<std::unique_ptr<fhir::model::Definitions>> LoadDefinitions(
    const std::optional<std::string>& location);

// The texts of the package's SearchParameter-*.json files, in file name order.
fhir::Result<std::vector<std::string>> ReadPackageSearchParameters(
    const std::optional<std::string>& location);

// The compartments of the same package (its CompartmentDefinition-*.json files).
fhir::Result<std::unique_ptr<search::Compartments>> LoadCompartments(
    const std::optional<std::string>& location);

// The code systems and value sets of the same package (its CodeSystem-*.json and
// ValueSet-*.json files), for the token search modifiers :in, :not-in, :below and :above.
fhir::Result<std::unique_ptr<terminology::Terminology>> LoadTerminology(
    const std::optional<std::string>& location);

// The StructureDefinition-*.json files of a package .tgz, read without unpacking it.
fhir::Result<std::vector<std::string>> ReadStructureDefinitionsFromTgz(
    const std::filesystem::path& tgz);

}  // namespace server::main

#endif  // SERVER_MAIN_FHIR_PACKAGE_H_
