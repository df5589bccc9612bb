// `fhirhub token`: mints a development JWT signed with the data directory's development key (see
// dev_keys.h), for trying the server's access control without an authorization server.
//
//   fhirhub token --role ROLE [--patient ID] [--scope "S1 S2"] [--subject SUB]
//                 [--fhir-user Practitioner/1] [--organization Organization/1]
//                 [--purpose CODE ...] [--lifetime SECONDS] [--data-dir DIR]
//     prints the token (iss fhirhub-dev, aud fhirhub) on one line.
//   fhirhub token --print-jwks [--data-dir DIR]
//     prints the JWKS of the key instead.
// The key lives in DIR/dev-token-key.pem (DIR defaults to var) and is created on first use.
// Exits 2 on a usage error, 1 when the key cannot be read or written.
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "server/main/command_line.h"
#include "server/main/dev_keys.h"
#include "server/security/digest.h"
#include "server/security/jwt.h"
#include "server/security/random.h"

namespace server::main {

namespace {

constexpr char kUsage[] =
    "usage: fhirhub token --role clinician|station-operator|connector|regulator|administrator\n"
    "                     [--patient ID] [--scope \"S1 S2\"] [--subject SUB]\n"
    "                     [--fhir-user Practitioner/1] [--organization Organization/1]\n"
    "                     [--purpose CODE ...] [--lifetime SECONDS] [--data-dir DIR]\n"
    "       fhirhub token --print-jwks [--data-dir DIR]\n";

int Usage(const std::string& problem) {
  if (!problem.empty()) std::fprintf(stderr, "fhirhub token: %s\n", problem.c_str());
  std::fputs(kUsage, stderr);
  return 2;
}

void PrintLine(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
}

}  // namespace

int RunToken(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"print-jwks"},
                               {"role", "patient", "scope", "subject", "fhir-user", "organization",
                                "purpose", "lifetime", "data-dir"});
  if (!cl.ok()) return Usage(cl.error().text());
  if (!cl->positional().empty()) return Usage("unexpected argument " + cl->positional()[0]);
  const bool print_jwks = cl->Has("print-jwks");
  if (!print_jwks && !cl->Get("role")) return Usage("--role is required");

  DevTokenRequest request;
  if (!print_jwks) {
    request.role = *cl->Get("role");
    request.patient = cl->Get("patient").value_or("");
    request.scope = cl->Get("scope");
    request.subject = cl->Get("subject").value_or("");
    request.fhir_user = cl->Get("fhir-user").value_or("");
    request.organization = cl->Get("organization").value_or("");
    // --purpose repeats, and each may list codes separated by commas.
    for (const std::string& value : cl->GetAll("purpose")) {
      for (size_t start = 0; start <= value.size();) {
        size_t end = value.find(',', start);
        if (end == std::string::npos) end = value.size();
        if (end > start) request.purposes.push_back(value.substr(start, end - start));
        start = end + 1;
      }
    }
    if (auto lifetime = cl->Get("lifetime")) {
      const char* end = lifetime->data() + lifetime->size();
      auto [ptr, ec] = std::from_chars(lifetime->data(), end, request.lifetime_seconds);
      if (ec != std::errc() || ptr != end) return Usage("--lifetime must be a number of seconds");
    }
  }

  // The request is checked before the key is touched, so a mistyped command creates no file.
  std::string claims;
  if (!print_jwks) {
    auto token_id = security::RandomBytes(16);
    if (!token_id) {
      std::fprintf(stderr, "fhirhub token: %s\n", token_id.error().text().c_str());
      return 1;
    }
    auto written = DevTokenClaims(request, static_cast<std::int64_t>(std::time(nullptr)),
                                  security::HexEncode(*token_id));
    if (!written) return Usage(written.error().text());
    claims = std::move(*written);
  }

  auto key = LoadOrCreateDevKey(cl->Get("data-dir").value_or("var"));
  if (!key) {
    std::fprintf(stderr, "fhirhub token: %s\n", key.error().text().c_str());
    return 1;
  }
  if (print_jwks) {
    PrintLine(DevJwks(*key));
    return 0;
  }
  auto token = security::SignJwt(claims, *key, DevKeyId(*key));
  if (!token) {
    std::fprintf(stderr, "fhirhub token: %s\n", token.error().text().c_str());
    return 1;
  }
  PrintLine(*token);
  return 0;
}

}  // namespace server::main
