// Content negotiation for FHIR (http.html#mime-type): which format a response is written in,
// from the _format parameter (which wins) or the Accept header, and which format a request body
// is in, from Content-Type. Pure functions.
#ifndef SERVER_HTTP_NEGOTIATION_H_
#define SERVER_HTTP_NEGOTIATION_H_

#include <optional>
#include <string_view>

#include "fhir/result.h"

namespace server::http {

enum class Format { kJson, kXml };

// JSON unless the client prefers XML. _format accepts json, xml and the FHIR, plain and text
// mime types; Accept is read with q-values and wildcards. A request that accepts neither FHIR
// format answers 406; an unknown _format answers 400.
fhir::Result<Format> ResponseFormat(std::optional<std::string_view> format_param,
                                    std::optional<std::string_view> accept);

// The body format from Content-Type; 415 for anything but the FHIR JSON and XML types.
fhir::Result<Format> RequestFormat(std::string_view content_type);

// "application/fhir+json; charset=utf-8" or the XML equivalent.
std::string_view ContentType(Format format);

}  // namespace server::http

#endif  // SERVER_HTTP_NEGOTIATION_H_
