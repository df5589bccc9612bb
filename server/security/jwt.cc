#include "server/security/jwt.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <utility>

#include "server/security/digest.h"

namespace server::security {

namespace {

// Larger tokens are refused before any decoding; real ones are a few kilobytes.
constexpr size_t kMaxTokenSize = 64 * 1024;
constexpr size_t kMaxEchoedSize = 64;
// Iterative parsing: a deeply nested header cannot exhaust the stack.
constexpr auto kParseFlags = rapidjson::kParseIterativeFlag;

fhir::Error Unauthorized(std::string id, std::string text) {
  return fhir::Error::Unauthorized(std::move(id), std::move(text));
}

fhir::Error Malformed(std::string text) {
  return Unauthorized("auth.malformed-token", std::move(text));
}

// A value from the token for an error text: at most 64 characters, printable ASCII only.
std::string Echo(std::string_view value) {
  std::string out;
  for (char c : value.substr(0, kMaxEchoedSize)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (value.size() > kMaxEchoedSize) out += "...";
  return out;
}

std::string_view View(const rapidjson::Value& value) {
  return {value.GetString(), value.GetStringLength()};
}

// Whether `text` is one JSON object (whitespace around it aside), parsed into `doc`.
bool ParseObject(std::string_view text, rapidjson::Document& doc) {
  doc.Parse<kParseFlags>(text.data(), text.size());
  return !doc.HasParseError() && doc.IsObject();
}

std::string NumberText(const rapidjson::Value& value) {
  if (value.IsInt64()) return std::to_string(value.GetInt64());
  if (value.IsUint64()) return std::to_string(value.GetUint64());
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value.GetDouble());
  if (ec != std::errc()) return {};
  return std::string(buffer, end);
}

// The texts a claim value contributes to Claims::strings; nullopt when it contributes none.
std::optional<std::vector<std::string>> ClaimTexts(const rapidjson::Value& value) {
  if (value.IsString()) return std::vector<std::string>{std::string(View(value))};
  if (value.IsNumber()) return std::vector<std::string>{NumberText(value)};
  if (value.IsArray()) {
    std::vector<std::string> out;
    for (const auto& element : value.GetArray()) {
      if (element.IsString()) {
        out.emplace_back(View(element));
      } else if (element.IsNumber()) {
        out.push_back(NumberText(element));
      }
    }
    return out;
  }
  return std::nullopt;
}

void AddTexts(Claims& claims, std::string name, std::vector<std::string> texts) {
  auto& slot = claims.strings[std::move(name)];
  for (std::string& text : texts) slot.push_back(std::move(text));
}

// Reads the optional string claim `name` into `out`; an error when it is present but not a
// string.
fhir::Result<void> StringClaim(const rapidjson::Value& payload, const char* name,
                               std::string& out) {
  auto it = payload.FindMember(name);
  if (it == payload.MemberEnd()) return {};
  if (!it->value.IsString()) {
    return Malformed(std::string("The claim ") + name + " is not a string");
  }
  out = std::string(View(it->value));
  return {};
}

// Reads the optional NumericDate claim `name` (seconds, fractions dropped).
fhir::Result<void> TimeClaim(const rapidjson::Value& payload, const char* name, std::int64_t& out,
                             bool& present) {
  present = false;
  auto it = payload.FindMember(name);
  if (it == payload.MemberEnd()) return {};
  const rapidjson::Value& value = it->value;
  if (value.IsInt64()) {
    out = value.GetInt64();
  } else if (value.IsNumber() && std::isfinite(value.GetDouble()) &&
             std::fabs(value.GetDouble()) < 9.0e18) {
    out = static_cast<std::int64_t>(value.GetDouble());
  } else {
    return Malformed(std::string("The claim ") + name + " is not a number of seconds");
  }
  present = true;
  return {};
}

fhir::Result<Claims> ReadClaims(const rapidjson::Value& payload) {
  Claims claims;
  for (auto [name, out] :
       {std::pair{"iss", &claims.issuer}, std::pair{"sub", &claims.subject},
        std::pair{"client_id", &claims.client_id}, std::pair{"jti", &claims.token_id},
        std::pair{"scope", &claims.scope}, std::pair{"fhirUser", &claims.fhir_user},
        std::pair{"patient", &claims.patient}}) {
    if (auto read = StringClaim(payload, name, *out); !read) return std::move(read).error();
  }
  if (claims.client_id.empty()) {
    if (auto read = StringClaim(payload, "azp", claims.client_id); !read) {
      return std::move(read).error();
    }
  }
  if (!payload.HasMember("scope")) {
    auto scp = payload.FindMember("scp");
    if (scp != payload.MemberEnd()) {
      if (scp->value.IsString()) {
        claims.scope = std::string(View(scp->value));
      } else if (scp->value.IsArray()) {
        for (const auto& element : scp->value.GetArray()) {
          if (!element.IsString()) return Malformed("The claim scp is not a list of strings");
          if (!claims.scope.empty()) claims.scope += ' ';
          claims.scope += View(element);
        }
      } else {
        return Malformed("The claim scp is not a string or a list of strings");
      }
    }
  }
  auto aud = payload.FindMember("aud");
  if (aud != payload.MemberEnd()) {
    if (aud->value.IsString()) {
      claims.audience.emplace_back(View(aud->value));
    } else if (aud->value.IsArray()) {
      for (const auto& element : aud->value.GetArray()) {
        if (!element.IsString()) return Malformed("The claim aud is not a list of strings");
        claims.audience.emplace_back(View(element));
      }
    } else {
      return Malformed("The claim aud is not a string or a list of strings");
    }
  }

  for (const auto& member : payload.GetObject()) {
    std::string name(View(member.name));
    if (member.value.IsObject()) {
      for (const auto& inner : member.value.GetObject()) {
        if (auto texts = ClaimTexts(inner.value)) {
          AddTexts(claims, name + "." + std::string(View(inner.name)), std::move(*texts));
        }
      }
    } else if (auto texts = ClaimTexts(member.value)) {
      AddTexts(claims, std::move(name), std::move(*texts));
    }
  }
  return claims;
}

fhir::Result<void> CheckClaims(const rapidjson::Value& payload, Claims& claims,
                               const JwtOptions& options, std::int64_t now) {
  bool has_exp = false;
  bool has_nbf = false;
  bool has_iat = false;
  if (auto read = TimeClaim(payload, "exp", claims.expires, has_exp); !read) {
    return std::move(read).error();
  }
  if (auto read = TimeClaim(payload, "nbf", claims.not_before, has_nbf); !read) {
    return std::move(read).error();
  }
  if (auto read = TimeClaim(payload, "iat", claims.issued_at, has_iat); !read) {
    return std::move(read).error();
  }
  const std::int64_t skew = options.clock_skew_seconds;
  if (!has_exp && options.require_expiry) return Malformed("The token has no expiry (exp)");
  // exp is the first moment the token is no longer valid (RFC 7519 section 4.1.4).
  if (has_exp && now - skew >= claims.expires) {
    return Unauthorized("auth.expired", "The token has expired");
  }
  if (has_nbf && claims.not_before > now + skew) {
    return Unauthorized("auth.not-yet-valid", "The token is not valid yet (nbf)");
  }
  if (has_iat && claims.issued_at > now + skew) {
    return Unauthorized("auth.not-yet-valid", "The token was issued in the future (iat)");
  }
  if (!options.issuers.empty()) {
    bool accepted = false;
    for (const std::string& issuer : options.issuers) accepted |= issuer == claims.issuer;
    if (!accepted) {
      return Unauthorized("auth.wrong-issuer",
                          "The token's issuer '" + Echo(claims.issuer) + "' is not accepted");
    }
  }
  if (!options.audience.empty()) {
    bool named = false;
    for (const std::string& audience : claims.audience) named |= audience == options.audience;
    if (!named) {
      return Unauthorized("auth.wrong-audience",
                          "The token is not meant for this server (aud must name '" +
                              Echo(options.audience) + "')");
    }
  }
  return {};
}

std::string_view KeyType(KeyAlgorithm algorithm) {
  return algorithm == KeyAlgorithm::kRsa ? "RSA" : "EC";
}

fhir::Error InvalidJwks(std::string text, std::string expression = {}) {
  return fhir::Error::Invalid("security.invalid-jwks", std::move(text), std::move(expression));
}

// The bytes of a base64url member of a JWK; nullopt when absent or undecodable.
std::optional<std::string> JwkBytes(const rapidjson::Value& jwk, const char* name) {
  auto it = jwk.FindMember(name);
  if (it == jwk.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return Base64UrlDecode(View(it->value));
}

}  // namespace

// ---- KeySet ----

fhir::Result<KeySet> KeySet::FromJwks(std::string_view json) {
  rapidjson::Document doc;
  if (!ParseObject(json, doc)) return InvalidJwks("The key set is not a JSON object");
  auto keys = doc.FindMember("keys");
  if (keys == doc.MemberEnd() || !keys->value.IsArray()) {
    return InvalidJwks("The key set has no keys array", "keys");
  }
  KeySet set;
  rapidjson::SizeType index = 0;
  for (const auto& jwk : keys->value.GetArray()) {
    const std::string where = "keys[" + std::to_string(index++) + "]";
    auto bad = [&](std::string_view why) {
      return InvalidJwks("Key " + where + ": " + std::string(why), where);
    };
    if (!jwk.IsObject()) return bad("not a JSON object");
    auto string_member = [&](const char* name) -> std::optional<std::string_view> {
      auto it = jwk.FindMember(name);
      if (it == jwk.MemberEnd()) return std::string_view();
      if (!it->value.IsString()) return std::nullopt;
      return View(it->value);
    };
    const auto kty = string_member("kty");
    const auto use = string_member("use");
    const auto alg = string_member("alg");
    const auto kid = string_member("kid");
    const auto crv = string_member("crv");
    if (!kty || !use || !alg || !kid || !crv)
      return bad("kty, use, alg, kid and crv must be strings");
    if (kty->empty()) return bad("no kty");
    if (!use->empty() && *use != "sig") continue;
    std::optional<KeyAlgorithm> algorithm;
    if (*kty == "RSA") {
      algorithm = KeyAlgorithm::kRsa;
    } else if (*kty == "EC" && *crv == "P-256") {
      algorithm = KeyAlgorithm::kEcP256;
    } else if (*kty == "EC" && *crv == "SM2") {
      algorithm = KeyAlgorithm::kSm2;
    } else if (*kty == "EC" && crv->empty()) {
      return bad("an EC key needs crv");
    } else {
      continue;  // another key type or curve
    }
    if (!alg->empty()) {
      const std::optional<KeyAlgorithm> named = ParseJwsAlgorithm(*alg);
      if (!named) continue;  // an algorithm this server does not verify
      if (*named != *algorithm) {
        return bad("alg " + Echo(*alg) + " does not fit a " +
                   std::string(KeyAlgorithmName(*algorithm)) + " key");
      }
    }
    std::optional<std::string> first;
    std::optional<std::string> second;
    if (*algorithm == KeyAlgorithm::kRsa) {
      first = JwkBytes(jwk, "n");
      second = JwkBytes(jwk, "e");
      if (!first || !second) return bad("an RSA key needs n and e in base64url");
    } else {
      first = JwkBytes(jwk, "x");
      second = JwkBytes(jwk, "y");
      if (!first || !second) return bad("an EC key needs x and y in base64url");
    }
    fhir::Result<PublicKey> key = *algorithm == KeyAlgorithm::kRsa
                                      ? PublicKey::FromRsa(*first, *second)
                                      : PublicKey::FromEcPoint(*algorithm, *first, *second);
    if (!key) return bad(key.error().text());
    set.keys_.push_back({std::string(*kid), std::string(*alg), std::move(*key)});
  }
  return set;
}

void KeySet::Add(std::string kid, PublicKey key) {
  keys_.push_back({std::move(kid), std::string(), std::move(key)});
}

bool KeySet::Contains(std::string_view kid) const {
  for (const Entry& entry : keys_) {
    if (entry.kid == kid) return true;
  }
  return false;
}

const PublicKey* KeySet::Find(std::string_view kid, KeyAlgorithm algorithm) const {
  auto fits = [&](const Entry& entry) {
    return entry.key.algorithm() == algorithm &&
           (entry.alg.empty() || entry.alg == JwsAlgorithmName(algorithm));
  };
  if (!kid.empty()) {
    for (const Entry& entry : keys_) {
      if (entry.kid == kid && fits(entry)) return &entry.key;
    }
    return nullptr;
  }
  const PublicKey* only = nullptr;
  for (const Entry& entry : keys_) {
    if (!fits(entry)) continue;
    if (only != nullptr) return nullptr;
    only = &entry.key;
  }
  return only;
}

std::string KeySet::ToJwks() const {
  std::string out = "{\"keys\":[";
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (i != 0) out += ',';
    out += keys_[i].key.Jwk(keys_[i].kid);
  }
  out += "]}";
  return out;
}

// ---- tokens ----

std::string JwtKeyId(std::string_view token) {
  const size_t first = token.find('.');
  if (first == std::string_view::npos || token.size() > kMaxTokenSize) return {};
  const auto header_text = Base64UrlDecode(token.substr(0, first));
  rapidjson::Document header;
  if (!header_text || !ParseObject(*header_text, header)) return {};
  auto kid = header.FindMember("kid");
  if (kid == header.MemberEnd() || !kid->value.IsString()) return {};
  return std::string(View(kid->value));
}

fhir::Result<Claims> VerifyJwt(std::string_view token, const KeySet& keys,
                               const JwtOptions& options, std::int64_t now_seconds) {
  if (token.empty()) return Malformed("The token is empty");
  if (token.size() > kMaxTokenSize) return Malformed("The token is too long");
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return Malformed("The token is not three base64url parts separated by '.'");
  }
  const std::string_view signing_input = token.substr(0, second);
  const auto header_text = Base64UrlDecode(token.substr(0, first));
  const auto payload_text = Base64UrlDecode(token.substr(first + 1, second - first - 1));
  const auto signature = Base64UrlDecode(token.substr(second + 1));
  if (!header_text || !payload_text || !signature) {
    return Malformed("A part of the token is not base64url");
  }

  rapidjson::Document header;
  if (!ParseObject(*header_text, header)) return Malformed("The token header is not JSON");
  auto alg = header.FindMember("alg");
  if (alg == header.MemberEnd() || !alg->value.IsString()) {
    return Malformed("The token header has no alg");
  }
  if (header.HasMember("crit")) {
    return Malformed("The token header has critical parameters (crit), which are not supported");
  }
  const std::optional<KeyAlgorithm> algorithm = ParseJwsAlgorithm(View(alg->value));
  if (!algorithm) {
    return Unauthorized("auth.unsupported-algorithm",
                        "The token algorithm '" + Echo(View(alg->value)) +
                            "' is not accepted (RS256, ES256 or SM2SM3)");
  }
  std::string_view kid;
  auto kid_member = header.FindMember("kid");
  if (kid_member != header.MemberEnd()) {
    if (!kid_member->value.IsString()) return Malformed("The token header's kid is not a string");
    kid = View(kid_member->value);
  }
  const PublicKey* key = keys.Find(kid, *algorithm);
  if (key == nullptr) {
    std::string text = kid.empty() ? "No single " + std::string(KeyType(*algorithm)) +
                                         " key fits the token, which names no key id (kid)"
                                   : "No " + std::string(JwsAlgorithmName(*algorithm)) +
                                         " key has the token's key id '" + Echo(kid) + "'";
    return Unauthorized("auth.unknown-key", std::move(text));
  }
  if (!key->Verify(signing_input, *signature, SignatureFormat::kRaw)) {
    return Unauthorized("auth.bad-signature", "The token signature is not valid");
  }

  rapidjson::Document payload;
  if (!ParseObject(*payload_text, payload)) return Malformed("The token payload is not JSON");
  auto claims = ReadClaims(payload);
  if (!claims) return std::move(claims).error();
  if (auto checked = CheckClaims(payload, *claims, options, now_seconds); !checked) {
    return std::move(checked).error();
  }
  return claims;
}

fhir::Result<std::string> SignJwt(std::string_view payload_json, const PrivateKey& key,
                                  std::string_view kid) {
  rapidjson::Document payload;
  if (!ParseObject(payload_json, payload)) {
    return fhir::Error::Invalid("security.invalid-claims", "The claims are not a JSON object");
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("alg");
  const std::string_view alg = JwsAlgorithmName(key.algorithm());
  writer.String(alg.data(), static_cast<rapidjson::SizeType>(alg.size()));
  writer.Key("typ");
  writer.String("JWT");
  if (!kid.empty()) {
    writer.Key("kid");
    writer.String(kid.data(), static_cast<rapidjson::SizeType>(kid.size()));
  }
  writer.EndObject();
  std::string token = Base64UrlEncode(std::string_view(buffer.GetString(), buffer.GetSize()));
  token += '.';
  token += Base64UrlEncode(payload_json);
  auto signature = key.Sign(token, SignatureFormat::kRaw);
  if (!signature) return std::move(signature).error();
  token += '.';
  token += Base64UrlEncode(*signature);
  return token;
}

}  // namespace server::security
