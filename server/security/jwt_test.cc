#include "server/security/jwt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "server/security/digest.h"

namespace server::security {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::int64_t kNow = 1'700'000'000;

// Keys are slow to generate (RSA especially), so the suite makes one of each.
class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (KeyAlgorithm algorithm : {KeyAlgorithm::kRsa, KeyAlgorithm::kEcP256, KeyAlgorithm::kSm2}) {
      keys_.push_back(std::move(*PrivateKey::Generate(algorithm)));
    }
  }
  static void TearDownTestSuite() { keys_.clear(); }

  static const PrivateKey& Rsa() { return keys_[0]; }
  static const PrivateKey& Ec() { return keys_[1]; }
  static const PrivateKey& Sm2() { return keys_[2]; }

  static KeySet AllKeys() {
    KeySet set;
    set.Add("rsa-1", Rsa().Public());
    set.Add("ec-1", Ec().Public());
    set.Add("sm2-1", Sm2().Public());
    return set;
  }

  static JwtOptions Options() {
    JwtOptions options;
    options.issuers = {"https://issuer.example"};
    options.audience = "fhirhub";
    return options;
  }

  static std::string Payload(std::string extra = {}) {
    std::string payload =
        R"({"iss":"https://issuer.example","aud":"fhirhub","sub":"user-1","exp":)" +
        std::to_string(kNow + 600) + R"(,"iat":)" + std::to_string(kNow - 10);
    if (!extra.empty()) payload += "," + extra;
    return payload + "}";
  }

  static std::string Sign(std::string_view payload, const PrivateKey& key, std::string_view kid) {
    auto token = SignJwt(payload, key, kid);
    EXPECT_TRUE(token.ok());
    return token.ok() ? *token : std::string();
  }

  // A token with the given header, signed by `key` (raw signature form).
  static std::string Forge(std::string_view header, std::string_view payload,
                           const PrivateKey& key) {
    std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
    auto signature = key.Sign(input, SignatureFormat::kRaw);
    EXPECT_TRUE(signature.ok());
    return input + "." + Base64UrlEncode(signature.ok() ? *signature : std::string());
  }

  static void ExpectError(const fhir::Result<Claims>& result, std::string_view id,
                          std::string_view token) {
    ASSERT_FALSE(result.ok()) << "expected " << id;
    EXPECT_EQ(result.error().message_id(), id) << result.error().text();
    EXPECT_EQ(result.error().http_status(), 401);
    if (!token.empty()) {
      EXPECT_THAT(result.error().text(), Not(HasSubstr(std::string(token))));
    }
    // Nor any of its parts.
    for (size_t start = 0; start < token.size();) {
      size_t end = token.find('.', start);
      if (end == std::string_view::npos) end = token.size();
      const std::string_view part = token.substr(start, end - start);
      if (part.size() > 8) {
        EXPECT_THAT(result.error().text(), Not(HasSubstr(std::string(part))));
      }
      start = end + 1;
    }
  }

  static inline std::vector<PrivateKey> keys_;
};

TEST_F(JwtTest, SignsAndVerifiesEachAlgorithm) {
  const KeySet keys = AllKeys();
  for (auto [key, kid, alg] :
       {std::tuple{&Rsa(), "rsa-1", "RS256"}, std::tuple{&Ec(), "ec-1", "ES256"},
        std::tuple{&Sm2(), "sm2-1", "SM2SM3"}}) {
    SCOPED_TRACE(alg);
    const std::string token = Sign(Payload(), *key, kid);
    const std::string header = *Base64UrlDecode(token.substr(0, token.find('.')));
    EXPECT_EQ(header, std::string(R"({"alg":")") + alg + R"(","typ":"JWT","kid":")" + kid + "\"}");
    auto claims = VerifyJwt(token, keys, Options(), kNow);
    ASSERT_TRUE(claims.ok()) << claims.error().text();
    EXPECT_EQ(claims->issuer, "https://issuer.example");
    EXPECT_EQ(claims->subject, "user-1");
    EXPECT_THAT(claims->audience, ElementsAre("fhirhub"));
    EXPECT_EQ(claims->expires, kNow + 600);
    EXPECT_EQ(claims->issued_at, kNow - 10);
  }
}

TEST_F(JwtTest, ReadsClaims) {
  const std::string token = Sign(
      Payload(
          R"("azp":"app-1","jti":"t-1","scope":"user/*.rs openid","fhirUser":"Practitioner/7",)"
          R"("patient":"p-9","nbf":1699999990,"roles":["a","b"],"level":3,"ratio":1.5,)"
          R"("flag":true,"realm_access":{"roles":["admin"],"deep":{"x":"y"}},"mixed":["s",2,{}])"),
      Ec(), "ec-1");
  auto claims = VerifyJwt(token, AllKeys(), Options(), kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().text();
  EXPECT_EQ(claims->client_id, "app-1");
  EXPECT_EQ(claims->token_id, "t-1");
  EXPECT_EQ(claims->scope, "user/*.rs openid");
  EXPECT_EQ(claims->fhir_user, "Practitioner/7");
  EXPECT_EQ(claims->patient, "p-9");
  EXPECT_EQ(claims->not_before, 1699999990);
  const auto& strings = claims->strings;
  EXPECT_THAT(strings.at("roles"), ElementsAre("a", "b"));
  EXPECT_THAT(strings.at("level"), ElementsAre("3"));
  EXPECT_THAT(strings.at("ratio"), ElementsAre("1.5"));
  EXPECT_THAT(strings.at("sub"), ElementsAre("user-1"));
  EXPECT_THAT(strings.at("exp"), ElementsAre(std::to_string(kNow + 600)));
  EXPECT_THAT(strings.at("realm_access.roles"), ElementsAre("admin"));
  EXPECT_THAT(strings.at("mixed"), ElementsAre("s", "2"));
  EXPECT_FALSE(strings.contains("flag"));
  EXPECT_FALSE(strings.contains("realm_access"));
  EXPECT_FALSE(strings.contains("realm_access.deep"));
  EXPECT_FALSE(strings.contains("realm_access.deep.x"));
}

TEST_F(JwtTest, ClientIdAndScopeFallBacks) {
  auto claims =
      VerifyJwt(Sign(Payload(R"("client_id":"c","azp":"a","scp":["x","y"])"), Ec(), "ec-1"),
                AllKeys(), Options(), kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().text();
  EXPECT_EQ(claims->client_id, "c");
  EXPECT_EQ(claims->scope, "x y");
}

TEST_F(JwtTest, AudienceMayBeAnArray) {
  const std::string payload =
      R"({"iss":"https://issuer.example","aud":["other","fhirhub"],"exp":)" +
      std::to_string(kNow + 10) + "}";
  auto claims = VerifyJwt(Sign(payload, Rsa(), "rsa-1"), AllKeys(), Options(), kNow);
  ASSERT_TRUE(claims.ok()) << claims.error().text();
  EXPECT_THAT(claims->audience, ElementsAre("other", "fhirhub"));
}

TEST_F(JwtTest, MalformedTokens) {
  const KeySet keys = AllKeys();
  const std::string good = Sign(Payload(), Ec(), "ec-1");
  for (const std::string& token :
       {std::string(), std::string("abc"), std::string("a.b"), good + ".x",
        std::string("!!!.e30.e30"), "e30." + good.substr(good.find('.') + 1),
        Forge("not json", Payload(), Ec()), Forge(R"({"kid":"ec-1"})", Payload(), Ec()),
        Forge(R"({"alg":7})", Payload(), Ec()),
        Forge(R"({"alg":"ES256","kid":"ec-1","crit":["b64"],"b64":false})", Payload(), Ec()),
        Forge(R"({"alg":"ES256","kid":"ec-1"})", "[1,2]", Ec()),
        Forge(R"({"alg":"ES256","kid":"ec-1"})", Payload() + "x", Ec()),
        Forge(R"({"alg":"ES256","kid":"ec-1"})",
              R"({"iss":"https://issuer.example","aud":"fhirhub","sub":1,"exp":1800000000})", Ec()),
        Forge(R"({"alg":"ES256","kid":"ec-1"})", R"({"exp":"soon"})", Ec()),
        Forge(R"({"alg":"ES256","kid":"ec-1"})", R"({"exp":1e300})", Ec()),
        Forge(R"({"alg":"ES256","kid":"ec-1"})",
              R"({"iss":"https://issuer.example","aud":{"a":1},"exp":1800000000})", Ec()),
        std::string(70 * 1024, 'a')}) {
    SCOPED_TRACE(token.substr(0, 80));
    ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.malformed-token", token);
  }
}

TEST_F(JwtTest, ExpiryIsRequiredUnlessTheOptionsSayOtherwise) {
  const std::string token = Sign(R"({"iss":"https://issuer.example","aud":"fhirhub"})", Ec(), "");
  ExpectError(VerifyJwt(token, AllKeys(), Options(), kNow), "auth.malformed-token", token);
  JwtOptions options = Options();
  options.require_expiry = false;
  EXPECT_TRUE(VerifyJwt(token, AllKeys(), options, kNow).ok());
}

TEST_F(JwtTest, UnsupportedAlgorithms) {
  const KeySet keys = AllKeys();
  const std::string body = Base64UrlEncode(Payload());
  for (std::string_view alg : {"none", "None", "HS256", "RS384", "PS256", "ES384", "EdDSA", ""}) {
    SCOPED_TRACE(alg);
    const std::string header = R"({"alg":")" + std::string(alg) + R"(","kid":"ec-1"})";
    // Unsigned, and signed with the key the kid names.
    for (const std::string& token :
         {Base64UrlEncode(header) + "." + body + ".", Forge(header, Payload(), Ec())}) {
      ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.unsupported-algorithm", token);
    }
  }
  // An HMAC over the token with the public key's text as the secret is no better.
  const std::string header = Base64UrlEncode(R"({"alg":"HS256","kid":"rsa-1"})");
  const std::string token =
      header + "." + body + "." +
      Base64UrlEncode(Digest(HashAlgorithm::kSha256, Rsa().Public().ToPem() + header + body));
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.unsupported-algorithm", token);
}

TEST_F(JwtTest, UnknownKeys) {
  const KeySet keys = AllKeys();
  // A kid the set does not have.
  std::string token = Sign(Payload(), Ec(), "ec-2");
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.unknown-key", token);
  // A kid of a key of another type than the algorithm's (an ES256 token naming the RSA key).
  token = Sign(Payload(), Ec(), "rsa-1");
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.unknown-key", token);
  // An SM2SM3 token naming the P-256 key, and an ES256 one naming the SM2 key: both are EC keys.
  token = Sign(Payload(), Sm2(), "ec-1");
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.unknown-key", token);
  token = Forge(R"({"alg":"ES256","kid":"sm2-1"})", Payload(), Sm2());
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.unknown-key", token);
  // No kid: the only key of the type is used; with two, none is.
  token = Sign(Payload(), Ec(), "");
  EXPECT_TRUE(VerifyJwt(token, keys, Options(), kNow).ok());
  KeySet two = AllKeys();
  two.Add("ec-2", PrivateKey::Generate(KeyAlgorithm::kEcP256)->Public());
  ExpectError(VerifyJwt(token, two, Options(), kNow), "auth.unknown-key", token);
  ExpectError(VerifyJwt(token, KeySet(), Options(), kNow), "auth.unknown-key", token);
}

TEST_F(JwtTest, AlgorithmNotMatchingTheKeyOfItsKid) {
  // An RS256 header over a token signed by the EC key named by kid.
  const std::string token = Forge(R"({"alg":"RS256","kid":"ec-1"})", Payload(), Ec());
  ExpectError(VerifyJwt(token, AllKeys(), Options(), kNow), "auth.unknown-key", token);
}

TEST_F(JwtTest, BadSignatures) {
  const KeySet keys = AllKeys();
  for (const PrivateKey* key : {&Rsa(), &Ec(), &Sm2()}) {
    const char* kid = key == &Rsa() ? "rsa-1" : key == &Ec() ? "ec-1" : "sm2-1";
    SCOPED_TRACE(kid);
    const std::string token = Sign(Payload(), *key, kid);
    const size_t first = token.find('.');
    const size_t second = token.find('.', first + 1);
    // Another payload under the same signature.
    std::string tampered = token.substr(0, first + 1) +
                           Base64UrlEncode(Payload(R"("scope":"system/*.cruds")")) +
                           token.substr(second);
    ExpectError(VerifyJwt(tampered, keys, Options(), kNow), "auth.bad-signature", tampered);
    // A changed signature byte.
    std::string signature = *Base64UrlDecode(token.substr(second + 1));
    signature[5] ^= 0x40;
    tampered = token.substr(0, second + 1) + Base64UrlEncode(signature);
    ExpectError(VerifyJwt(tampered, keys, Options(), kNow), "auth.bad-signature", tampered);
    // No signature, and one of the DER form.
    tampered = token.substr(0, second + 1);
    ExpectError(VerifyJwt(tampered, keys, Options(), kNow), "auth.bad-signature", tampered);
    if (key != &Rsa()) {
      auto der = key->Sign(token.substr(0, second), SignatureFormat::kDer);
      ASSERT_TRUE(der.ok());
      tampered = token.substr(0, second + 1) + Base64UrlEncode(*der);
      ExpectError(VerifyJwt(tampered, keys, Options(), kNow), "auth.bad-signature", tampered);
    }
  }
  // Signed by another key with the same kid.
  auto other = PrivateKey::Generate(KeyAlgorithm::kEcP256);
  ASSERT_TRUE(other.ok());
  const std::string token = Sign(Payload(), *other, "ec-1");
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.bad-signature", token);
}

TEST_F(JwtTest, TimeClaims) {
  const KeySet keys = AllKeys();
  auto token_with = [&](std::string claims) {
    return Sign(R"({"iss":"https://issuer.example","aud":"fhirhub",)" + claims + "}", Ec(), "ec-1");
  };
  std::string token = token_with(R"("exp":)" + std::to_string(kNow - 61));
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.expired", token);
  // Within the clock skew.
  token = token_with(R"("exp":)" + std::to_string(kNow - 59));
  EXPECT_TRUE(VerifyJwt(token, keys, Options(), kNow).ok());
  JwtOptions strict = Options();
  strict.clock_skew_seconds = 0;
  token = token_with(R"("exp":)" + std::to_string(kNow));
  ExpectError(VerifyJwt(token, keys, strict, kNow), "auth.expired", token);
  token = token_with(R"("exp":)" + std::to_string(kNow + 1));
  EXPECT_TRUE(VerifyJwt(token, keys, strict, kNow).ok());
  // Fractional seconds are allowed.
  token = token_with(R"("exp":)" + std::to_string(kNow + 100) + ".5");
  EXPECT_TRUE(VerifyJwt(token, keys, strict, kNow).ok());

  token = token_with(R"("exp":)" + std::to_string(kNow + 600) + R"(,"nbf":)" +
                     std::to_string(kNow + 61));
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.not-yet-valid", token);
  token = token_with(R"("exp":)" + std::to_string(kNow + 600) + R"(,"nbf":)" +
                     std::to_string(kNow + 59));
  EXPECT_TRUE(VerifyJwt(token, keys, Options(), kNow).ok());
  token = token_with(R"("exp":)" + std::to_string(kNow + 600) + R"(,"iat":)" +
                     std::to_string(kNow + 3600));
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.not-yet-valid", token);
}

TEST_F(JwtTest, IssuerAndAudience) {
  const KeySet keys = AllKeys();
  const std::string exp = std::to_string(kNow + 600);
  std::string token =
      Sign(R"({"iss":"https://evil.example","aud":"fhirhub","exp":)" + exp + "}", Ec(), "ec-1");
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.wrong-issuer", token);
  token = Sign(R"({"aud":"fhirhub","exp":)" + exp + "}", Ec(), "ec-1");
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.wrong-issuer", token);
  JwtOptions two = Options();
  two.issuers.push_back("https://evil.example");
  token = Sign(R"({"iss":"https://evil.example","aud":"fhirhub","exp":)" + exp + "}", Ec(), "ec-1");
  EXPECT_TRUE(VerifyJwt(token, keys, two, kNow).ok());

  token = Sign(R"({"iss":"https://issuer.example","aud":"other","exp":)" + exp + "}", Ec(), "ec-1");
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.wrong-audience", token);
  token = Sign(R"({"iss":"https://issuer.example","exp":)" + exp + "}", Ec(), "ec-1");
  ExpectError(VerifyJwt(token, keys, Options(), kNow), "auth.wrong-audience", token);
  JwtOptions any;
  EXPECT_TRUE(VerifyJwt(token, keys, any, kNow).ok());
}

TEST_F(JwtTest, ErrorTextsEchoAtMostSixtyFourPrintableCharacters) {
  const std::string kid = std::string(100, 'k') + "\n";
  const std::string token = Sign(Payload(), Ec(), kid);
  auto result = VerifyJwt(token, AllKeys(), Options(), kNow);
  ExpectError(result, "auth.unknown-key", token);
  EXPECT_THAT(result.error().text(), HasSubstr(std::string(64, 'k') + "..."));
  EXPECT_THAT(result.error().text(), Not(HasSubstr(std::string(65, 'k'))));
  EXPECT_THAT(result.error().text(), Not(HasSubstr("\n")));
}

TEST_F(JwtTest, SignJwtRefusesAPayloadThatIsNotAnObject) {
  for (std::string_view payload : {"", "[]", "\"x\"", "{", "{} {}"}) {
    auto token = SignJwt(payload, Ec(), "k");
    ASSERT_FALSE(token.ok()) << payload;
    EXPECT_EQ(token.error().message_id(), "security.invalid-claims");
  }
}

TEST_F(JwtTest, KeySetFromJwks) {
  const std::string jwks = R"({"keys":[)" + Rsa().Public().Jwk("rsa-1") + "," +
                           Ec().Public().Jwk("ec-1") + "," + Sm2().Public().Jwk("sm2-1") +
                           R"(,{"kty":"EC","crv":"P-256","use":"enc","x":"AA","y":"AA"})"
                           R"(,{"kty":"oct","k":"c2VjcmV0"})"
                           R"(,{"kty":"OKP","crv":"Ed25519","x":"AA"})"
                           R"(,{"kty":"EC","crv":"P-384","x":"AA","y":"AA"})"
                           R"(,{"kty":"RSA","alg":"RSA-OAEP","n":"AA","e":"AQAB"})"
                           "]}";
  auto keys = KeySet::FromJwks(jwks);
  ASSERT_TRUE(keys.ok()) << keys.error().text();
  EXPECT_EQ(keys->size(), 3u);
  EXPECT_TRUE(keys->Contains("sm2-1"));
  EXPECT_FALSE(keys->Contains("sm2-2"));
  for (auto [key, kid] :
       {std::pair{&Rsa(), "rsa-1"}, std::pair{&Ec(), "ec-1"}, std::pair{&Sm2(), "sm2-1"}}) {
    auto claims = VerifyJwt(Sign(Payload(), *key, kid), *keys, Options(), kNow);
    EXPECT_TRUE(claims.ok()) << kid << ": " << claims.error().text();
  }
  // The set writes itself back out.
  auto again = KeySet::FromJwks(keys->ToJwks());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 3u);
}

TEST_F(JwtTest, KeySetKeepsTheAlgOfAKey) {
  // A P-256 key with alg ES256 serves ES256 tokens only.
  auto keys = KeySet::FromJwks(R"({"keys":[)" + Ec().Public().Jwk("k") + "]}");
  ASSERT_TRUE(keys.ok());
  EXPECT_NE(keys->Find("k", KeyAlgorithm::kEcP256), nullptr);
  EXPECT_EQ(keys->Find("k", KeyAlgorithm::kSm2), nullptr);
  EXPECT_EQ(keys->Find("k", KeyAlgorithm::kRsa), nullptr);
}

TEST_F(JwtTest, MalformedJwks) {
  const std::string ec = Ec().Public().Jwk("ec-1");
  struct Case {
    std::string jwks;
    std::string where;
  };
  for (const Case& c : std::vector<Case>{
           {"", ""},
           {"[]", ""},
           {R"({"keys":{}})", "keys"},
           {R"({"keys":[)" + ec + R"(,7]})", "keys[1]"},
           {R"({"keys":[{"kty":"RSA","e":"AQAB"}]})", "keys[0]"},
           {R"({"keys":[{"kty":"RSA","n":"***","e":"AQAB"}]})", "keys[0]"},
           {R"({"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]})", "keys[0]"},
           {R"({"keys":[)" + ec + R"(,{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]})", "keys[1]"},
           {R"({"keys":[{"kty":"EC","x":"AA","y":"AA"}]})", "keys[0]"},
           {R"({"keys":[{"kid":"x"}]})", "keys[0]"},
           {R"({"keys":[{"kty":"EC","crv":"P-256","kid":5}]})", "keys[0]"},
           {R"({"keys":[{"kty":"EC","crv":"P-256","alg":"RS256","x":"AA","y":"AA"}]})", "keys[0]"},
       }) {
    SCOPED_TRACE(c.jwks);
    auto keys = KeySet::FromJwks(c.jwks);
    ASSERT_FALSE(keys.ok());
    EXPECT_EQ(keys.error().message_id(), "security.invalid-jwks");
    EXPECT_EQ(keys.error().http_status(), 400);
    EXPECT_EQ(keys.error().issues().front().expression, c.where);
    if (c.where.starts_with("keys[")) {
      EXPECT_THAT(keys.error().text(), HasSubstr(c.where));
    }
  }
  // Skipped keys leave an empty set, which is not an error.
  auto empty = KeySet::FromJwks(R"({"keys":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace server::security
