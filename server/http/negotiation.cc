#include "server/http/negotiation.h"

#include <cctype>
#include <cstdlib>
#include <string>

namespace server::http {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The format a bare mime type (no parameters) names, if any.
std::optional<Format> FormatOfMime(std::string_view mime) {
  if (mime == "application/fhir+json" || mime == "application/json" ||
      mime == "application/json+fhir" || mime == "text/json") {
    return Format::kJson;
  }
  if (mime == "application/fhir+xml" || mime == "application/xml" ||
      mime == "application/xml+fhir" || mime == "text/xml") {
    return Format::kXml;
  }
  return std::nullopt;
}

// Whether a fhirVersion parameter value ("4.0", "4.0.1") names R4, which this server speaks
// (http.html#version-parameter).
bool IsR4(std::string_view version) { return version == "4.0" || version.starts_with("4.0."); }

// The value of the `fhirversion` parameter in "type; a=b; fhirVersion=4.0", if any.
std::optional<std::string> FhirVersionParam(std::string_view media_type) {
  size_t semi = media_type.find(';');
  while (semi != std::string_view::npos) {
    media_type.remove_prefix(semi + 1);
    semi = media_type.find(';');
    const std::string param = Lower(Trim(media_type.substr(0, semi)));
    if (param.rfind("fhirversion=", 0) == 0) {
      std::string value = param.substr(12);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace

fhir::Result<Format> ResponseFormat(std::optional<std::string_view> format_param,
                                    std::optional<std::string_view> accept) {
  if (format_param.has_value()) {
    // '+' in a query string decodes to a space: "application/fhir json".
    std::string value = Lower(Trim(format_param->substr(0, format_param->find(';'))));
    for (char& c : value) {
      if (c == ' ') c = '+';
    }
    if (value == "json") return Format::kJson;
    if (value == "xml") return Format::kXml;
    if (auto format = FormatOfMime(value)) return *format;
    return fhir::Error::Invalid("http.format-unknown",
                                "_format must be json, xml or a FHIR JSON or XML mime type",
                                "_format");
  }
  if (!accept.has_value() || Trim(*accept).empty()) return Format::kJson;

  // Highest q wins; on a tie the earlier entry wins. Wildcards accept JSON.
  std::optional<Format> best;
  double best_q = 0;
  std::string_view rest = *accept;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    const std::string_view entry_text = entry;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t semi = entry.find(';');
    std::string mime = Lower(Trim(entry.substr(0, semi)));
    double q = 1;
    while (semi != std::string_view::npos) {
      entry.remove_prefix(semi + 1);
      semi = entry.find(';');
      std::string param = Lower(Trim(entry.substr(0, semi)));
      if (param.rfind("q=", 0) == 0) q = std::strtod(param.c_str() + 2, nullptr);
    }
    std::optional<Format> format = FormatOfMime(mime);
    if (!format && (mime == "*/*" || mime == "application/*")) format = Format::kJson;
    // A FHIR format of another FHIR version is one this server cannot answer.
    if (auto version = FhirVersionParam(entry_text); version && !IsR4(*version)) {
      format.reset();
    }
    if (format && q > best_q) {
      best = format;
      best_q = q;
    }
  }
  if (!best) {
    return fhir::Error::NotAcceptable(
        "http.not-acceptable", "This server answers application/fhir+json or application/fhir+xml");
  }
  return *best;
}

fhir::Result<Format> RequestFormat(std::string_view content_type) {
  std::string mime = Lower(Trim(content_type.substr(0, content_type.find(';'))));
  if (auto version = FhirVersionParam(content_type); version && !IsR4(*version)) {
    return fhir::Error::UnsupportedMediaType(
        "http.unsupported-fhir-version",
        "This server reads FHIR R4 (fhirVersion=4.0), not fhirVersion=" + *version);
  }
  if (auto format = FormatOfMime(mime)) return *format;
  return fhir::Error::UnsupportedMediaType(
      "http.unsupported-media-type",
      "Request bodies must be application/fhir+json or application/fhir+xml");
}

std::string_view ContentType(Format format) {
  return format == Format::kXml ? "application/fhir+xml; charset=utf-8"
                                : "application/fhir+json; charset=utf-8";
}

}  // namespace server::http
