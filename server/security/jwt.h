// JSON Web Tokens in JWS compact form (RFC 7519, RFC 7515): verification against a key set and
// signing.
//
// Three algorithms, one per key algorithm (keys.h): "RS256", "ES256" and "SM2SM3". SM2SM3 is this
// server's name for the SM2 signature with the SM3 digest and the default identifier
// "1234567812345678", its JWS signature raw r||s (64 bytes) like ES256; no registered JWS name
// exists for it. Every other "alg" is refused, "none" and the HMAC family (HS256, ...) included:
// a verifier holding public keys must never accept a token it cannot check against one of them.
//
// Verification errors are fhir::Error 401 (issue type "login") with these message ids:
//   auth.malformed-token        not three base64url parts, a header or payload that is not a
//                               JSON object, a claim of the wrong JSON type, critical header
//                               parameters ("crit"), no "exp" when the options require one
//   auth.unsupported-algorithm  an "alg" other than the three above
//   auth.unknown-key            no key in the set for the header's "kid" and "alg"
//   auth.bad-signature          the signature does not verify
//   auth.expired                "exp" is past (beyond the clock skew)
//   auth.not-yet-valid          "nbf" or "iat" is in the future (beyond the clock skew)
//   auth.wrong-issuer           "iss" is not one of the accepted issuers
//   auth.wrong-audience         "aud" does not name the expected audience
// Error texts never contain the token; values taken from the token (kid, alg, iss) are cut to
// 64 printable ASCII characters.
#ifndef SERVER_SECURITY_JWT_H_
#define SERVER_SECURITY_JWT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/result.h"
#include "server/security/keys.h"

namespace server::security {

// Public keys that may sign tokens, each with its "kid" (possibly empty) and, when the key set
// names one, the only "alg" it may be used with. Immutable once built, so safe to share between
// threads for reading.
class KeySet {
 public:
  // A JWKS document (RFC 7517 section 5): an object whose "keys" array holds JWKs. Keys of type
  // RSA (n, e), EC with crv "P-256" (x, y) and EC with crv "SM2" (x, y) are kept with their kid
  // and alg. Skipped, not refused: keys whose "use" is other than "sig", keys with an "alg" this
  // server does not verify, and keys of other types or curves (they serve other parties). 400
  // security.invalid-jwks when the text is not such a document or a kept key is malformed
  // (missing or undecodable members, a point off the curve, an alg for another key type); the
  // text names the key's index in "keys".
  static fhir::Result<KeySet> FromJwks(std::string_view json);

  // Adds a key usable with the JWS algorithm of its type.
  void Add(std::string kid, PublicKey key);

  size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }
  // Whether some key has this kid.
  bool Contains(std::string_view kid) const;
  // The key a token signed with `algorithm` uses: when `kid` is not empty, the first key with that
  // kid whose type (and alg, when set) fits the algorithm; when it is empty, the only key of that
  // type, if there is exactly one. Null when there is none.
  const PublicKey* Find(std::string_view kid, KeyAlgorithm algorithm) const;
  // The set as a JWKS document (each key's Jwk with its kid).
  std::string ToJwks() const;

 private:
  struct Entry {
    std::string kid;
    std::string alg;  // empty: the key type's algorithm
    PublicKey key;
  };
  std::vector<Entry> keys_;
};

struct JwtOptions {
  // Accepted "iss" values; empty accepts any issuer (a key set that only one issuer uses).
  std::vector<std::string> issuers;
  // The audience "aud" must name (a string, or one element of an array); empty skips the check.
  std::string audience;
  // Tolerance for the time claims, in seconds.
  std::int64_t clock_skew_seconds = 60;
  // Whether a token without "exp" is refused.
  bool require_expiry = true;
};

// The claims of a verified token. Absent claims are empty strings, empty vectors and 0.
struct Claims {
  std::string issuer;     // iss
  std::string subject;    // sub
  std::string client_id;  // client_id, else azp
  std::string token_id;   // jti
  std::string scope;      // scope (space-separated), else scp (a string or an array, joined)
  std::string fhir_user;  // fhirUser (SMART)
  std::string patient;    // patient (SMART launch context)
  std::vector<std::string> audience;  // aud, a string or an array
  std::int64_t expires = 0;           // exp
  std::int64_t not_before = 0;        // nbf
  std::int64_t issued_at = 0;         // iat
  // Every claim whose value is a string (one element), an array (its string and number elements)
  // or a number (its shortest decimal text: "3600", "1.5"), by name; the members of a top-level
  // object likewise by "object.member" ("realm_access.roles"). Deeper levels are not kept.
  std::map<std::string, std::vector<std::string>, std::less<>> strings;
};

// Verifies a JWS compact token signed by a key of `keys` and checks its time, issuer and audience
// claims at `now_seconds` (Unix time). The signature is checked before the payload is read.
fhir::Result<Claims> VerifyJwt(std::string_view token, const KeySet& keys,
                               const JwtOptions& options, std::int64_t now_seconds);

// The "kid" of a token's header, unverified: to pick the key set that verifies it. Empty when the
// token is malformed or names no key.
std::string JwtKeyId(std::string_view token);

// A JWS compact token with header {"alg", "typ":"JWT", "kid"} (kid left out when empty), the alg
// being the key's (keys.h), over `payload_json` as given. 400 security.invalid-claims when the
// payload is not a JSON object; 500 security.crypto-failure when signing fails.
fhir::Result<std::string> SignJwt(std::string_view payload_json, const PrivateKey& key,
                                  std::string_view kid);

}  // namespace server::security

#endif  // SERVER_SECURITY_JWT_H_
