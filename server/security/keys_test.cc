#include "server/security/keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>

#include "server/security/digest.h"

namespace server::security {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr KeyAlgorithm kAll[] = {KeyAlgorithm::kRsa, KeyAlgorithm::kEcP256, KeyAlgorithm::kSm2};

// An SM2 key in the traditional EC form, naming the SM2 curve by OID (`openssl ecparam -name SM2
// -genkey`, then `openssl ec`, with the label EC PRIVATE KEY).
constexpr std::string_view kEcSm2Pem = R"(-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIAtZ8/9e3hWwaGKiETYMJLi4iekJ2wDyKcsZcOg05hP3oAoGCCqBHM9V
AYItoUQDQgAE4z9ZWPmn0nAABgnPJ54Me+ut5ibvgK2sze04VHU1Fln/az3hfpIE
B7nZ+b8O2vKNOdHiKY+irLmlaP90Vsuecw==
-----END EC PRIVATE KEY-----
)";

// A P-256 key in PKCS#8 (`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`).
constexpr std::string_view kP256Pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSsFnfxAaoWsESUK1
r80s7FkKlTCS+z/pvESAhgtL7aGhRANCAAQRnx5wGAez/Trsq5dgncQxSW1z588b
cB3zlBujXIRuJbK2/LNJWn99WRRlrajbHqmZzjkj/fDqWO+lKXaTTSuS
-----END PRIVATE KEY-----
)";

TEST(KeysTest, SignAndVerifyRoundTrip) {
  for (KeyAlgorithm algorithm : kAll) {
    SCOPED_TRACE(KeyAlgorithmName(algorithm));
    auto key = PrivateKey::Generate(algorithm);
    ASSERT_TRUE(key.ok()) << key.error().text();
    EXPECT_EQ(key->algorithm(), algorithm);
    const PublicKey pub = key->Public();
    EXPECT_EQ(pub.algorithm(), algorithm);
    for (SignatureFormat format : {SignatureFormat::kDer, SignatureFormat::kRaw}) {
      auto signature = key->Sign("the message", format);
      ASSERT_TRUE(signature.ok()) << signature.error().text();
      if (algorithm == KeyAlgorithm::kRsa) {
        EXPECT_EQ(signature->size(), 256u);
      } else if (format == SignatureFormat::kRaw) {
        EXPECT_EQ(signature->size(), 64u);
      }
      EXPECT_TRUE(pub.Verify("the message", *signature, format));
      // A changed message, a changed signature, a truncated one and an empty one all fail.
      EXPECT_FALSE(pub.Verify("the messagE", *signature, format));
      std::string tampered = *signature;
      tampered[tampered.size() / 2] ^= 0x01;
      EXPECT_FALSE(pub.Verify("the message", tampered, format));
      EXPECT_FALSE(pub.Verify("the message", signature->substr(0, signature->size() - 1), format));
      EXPECT_FALSE(pub.Verify("the message", "", format));
    }
  }
}

TEST(KeysTest, SignaturesOfOneAlgorithmDoNotVerifyUnderAnother) {
  auto ec = PrivateKey::Generate(KeyAlgorithm::kEcP256);
  auto sm2 = PrivateKey::Generate(KeyAlgorithm::kSm2);
  ASSERT_TRUE(ec.ok() && sm2.ok());
  auto signature = ec->Sign("data");
  ASSERT_TRUE(signature.ok());
  EXPECT_FALSE(sm2->Public().Verify("data", *signature));
  EXPECT_FALSE(PrivateKey::Generate(KeyAlgorithm::kEcP256)->Public().Verify("data", *signature));
}

TEST(KeysTest, PemRoundTrip) {
  for (KeyAlgorithm algorithm : kAll) {
    SCOPED_TRACE(KeyAlgorithmName(algorithm));
    auto key = PrivateKey::Generate(algorithm);
    ASSERT_TRUE(key.ok());
    const std::string pem = key->ToPem();
    EXPECT_THAT(pem, StartsWith("-----BEGIN PRIVATE KEY-----\n"));
    auto read = PrivateKey::FromPem(pem);
    ASSERT_TRUE(read.ok()) << read.error().text();
    EXPECT_EQ(read->algorithm(), algorithm);
    EXPECT_EQ(read->ToPem(), pem);

    const std::string public_pem = key->Public().ToPem();
    EXPECT_THAT(public_pem, StartsWith("-----BEGIN PUBLIC KEY-----\n"));
    auto pub = PublicKey::FromPem(public_pem);
    ASSERT_TRUE(pub.ok()) << pub.error().text();
    EXPECT_EQ(pub->algorithm(), algorithm);
    EXPECT_EQ(pub->ToPem(), public_pem);
    auto signature = read->Sign("data");
    ASSERT_TRUE(signature.ok());
    EXPECT_TRUE(pub->Verify("data", *signature));
  }
}

TEST(KeysTest, DetectsSm2KeysOnTheEcCurve) {
  auto key = PrivateKey::FromPem(kEcSm2Pem);
  ASSERT_TRUE(key.ok()) << key.error().text();
  EXPECT_EQ(key->algorithm(), KeyAlgorithm::kSm2);
  EXPECT_EQ(key->Public().algorithm(), KeyAlgorithm::kSm2);
  auto pub = PublicKey::FromPem(key->Public().ToPem());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->algorithm(), KeyAlgorithm::kSm2);
  auto signature = key->Sign("data");
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(pub->Verify("data", *signature));

  auto p256 = PrivateKey::FromPem(kP256Pem);
  ASSERT_TRUE(p256.ok()) << p256.error().text();
  EXPECT_EQ(p256->algorithm(), KeyAlgorithm::kEcP256);
}

TEST(KeysTest, RefusesWhatItCannotUse) {
  for (std::string_view text : {std::string_view(""), std::string_view("not a key"),
                                std::string_view("-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                                 "-----END PRIVATE KEY-----\n")}) {
    auto key = PrivateKey::FromPem(text);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.error().message_id(), "security.invalid-key");
    EXPECT_EQ(key.error().http_status(), 400);
    EXPECT_FALSE(PublicKey::FromPem(text).ok());
  }
  // A public key is not a private key, and the other way round.
  auto key = PrivateKey::Generate(KeyAlgorithm::kEcP256);
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(PrivateKey::FromPem(key->Public().ToPem()).ok());
  EXPECT_FALSE(PublicKey::FromPem(key->ToPem()).ok());
}

TEST(KeysTest, RefusesShortRsaKeysAndOtherCurves) {
  // `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 | openssl pkey -pubout`
  constexpr std::string_view kRsa1024 = R"(-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCmh3D8I34aZbRIZluwFPTrpmxz
PDP/u5/m5y/YCA2ydLjCtIeWQX0JAmsUfQ6tRfW5fIEmcB109G03f0oDHbNMhUNQ
it1O2U3XJx1s2fEShbFeC2elTT1qZlGXeHUN/lr1yuBzRS3My8J3k110a8rP9fzJ
NiFolb3yAaf1cUt/PwIDAQAB
-----END PUBLIC KEY-----
)";
  auto rsa = PublicKey::FromPem(kRsa1024);
  ASSERT_FALSE(rsa.ok());
  EXPECT_THAT(rsa.error().text(), HasSubstr("2048"));
  // `openssl ecparam -name secp384r1 -genkey | openssl pkey -pubout`
  constexpr std::string_view kP384 = R"(-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEOXHjSCoP5olJKTbc9WKEDZPMRU1FwjEs
Tl2NQSyXC8e3HcxijEyaJA+9GTXV3A65Q+u6lnNWSULTAugu1tC/AukLHQqbgTso
jB8GlkxdAjYdxQfLfoapaiJnoHV3zELM
-----END PUBLIC KEY-----
)";
  auto p384 = PublicKey::FromPem(kP384);
  ASSERT_FALSE(p384.ok());
  EXPECT_EQ(p384.error().message_id(), "security.invalid-key");
}

TEST(KeysTest, DerAndRawSignatureForms) {
  auto key = PrivateKey::Generate(KeyAlgorithm::kEcP256);
  ASSERT_TRUE(key.ok());
  auto der = key->Sign("data", SignatureFormat::kDer);
  ASSERT_TRUE(der.ok());
  auto raw = DerToRaw(*der);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), 64u);
  EXPECT_EQ(RawToDer(*raw), *der);
  EXPECT_TRUE(key->Public().Verify("data", *raw, SignatureFormat::kRaw));
  EXPECT_FALSE(key->Public().Verify("data", *raw, SignatureFormat::kDer));
  EXPECT_FALSE(key->Public().Verify("data", *der, SignatureFormat::kRaw));
  EXPECT_EQ(DerToRaw("garbage"), std::nullopt);
  EXPECT_EQ(DerToRaw(*der + "x"), std::nullopt);
  EXPECT_EQ(RawToDer(std::string(63, 'a')), std::nullopt);
}

// A signature made by the openssl command line with the default SM2 identifier verifies:
//   openssl pkeyutl -sign -rawin -digest sm3 -inkey sm2.pem -in msg
//     -pkeyopt distid:1234567812345678
TEST(KeysTest, Sm2SignatureFromOpenSslCommandLine) {
  auto key = PrivateKey::FromPem(kEcSm2Pem);
  ASSERT_TRUE(key.ok());
  auto signature = HexDecode(
      "3045022018935ea177f33d7f7bc8b4fa2ce205764bb89dcc581a3baca26d9bc35582a1da022100a76748c0be"
      "6de5e7e020ba84a579cb5c04b5bde0462bdefee3301b1af0e27a47");
  ASSERT_TRUE(signature.has_value());
  EXPECT_TRUE(key->Public().Verify("signed by the openssl command line", *signature));
  EXPECT_FALSE(key->Public().Verify("signed by the openssl command line!", *signature));
}

TEST(KeysTest, JwkAndThumbprint) {
  auto p256 = PrivateKey::FromPem(kP256Pem);
  ASSERT_TRUE(p256.ok());
  rapidjson::Document jwk;
  jwk.Parse(p256->Public().Jwk("key-1").c_str());
  ASSERT_TRUE(jwk.IsObject());
  EXPECT_STREQ(jwk["kty"].GetString(), "EC");
  EXPECT_STREQ(jwk["crv"].GetString(), "P-256");
  EXPECT_STREQ(jwk["alg"].GetString(), "ES256");
  EXPECT_STREQ(jwk["use"].GetString(), "sig");
  EXPECT_STREQ(jwk["kid"].GetString(), "key-1");
  auto x = Base64UrlDecode(jwk["x"].GetString());
  auto y = Base64UrlDecode(jwk["y"].GetString());
  ASSERT_TRUE(x && y);
  auto rebuilt = PublicKey::FromEcPoint(KeyAlgorithm::kEcP256, *x, *y);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().text();
  EXPECT_EQ(rebuilt->ToPem(), p256->Public().ToPem());
  EXPECT_EQ(rebuilt->Thumbprint(), p256->Public().Thumbprint());
  EXPECT_EQ(Base64UrlDecode(rebuilt->Thumbprint())->size(), 32u);

  // A point off the curve is refused.
  std::string bad_y = *y;
  bad_y[31] ^= 0x01;
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyAlgorithm::kEcP256, *x, bad_y).ok());
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyAlgorithm::kEcP256, *x, "short").ok());
}

TEST(KeysTest, JwkOfRsaAndSm2KeysRebuildsTheKey) {
  auto rsa = PrivateKey::Generate(KeyAlgorithm::kRsa);
  auto sm2 = PrivateKey::FromPem(kEcSm2Pem);
  ASSERT_TRUE(rsa.ok() && sm2.ok());

  rapidjson::Document jwk;
  jwk.Parse(rsa->Public().Jwk("").c_str());
  EXPECT_STREQ(jwk["kty"].GetString(), "RSA");
  EXPECT_STREQ(jwk["alg"].GetString(), "RS256");
  EXPECT_FALSE(jwk.HasMember("kid"));
  EXPECT_STREQ(jwk["e"].GetString(), "AQAB");
  auto rebuilt = PublicKey::FromRsa(*Base64UrlDecode(jwk["n"].GetString()),
                                    *Base64UrlDecode(jwk["e"].GetString()));
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.error().text();
  EXPECT_EQ(rebuilt->ToPem(), rsa->Public().ToPem());
  EXPECT_FALSE(PublicKey::FromRsa("", "\x01").ok());

  jwk.Parse(sm2->Public().Jwk("sm2").c_str());
  EXPECT_STREQ(jwk["kty"].GetString(), "EC");
  EXPECT_STREQ(jwk["crv"].GetString(), "SM2");
  EXPECT_STREQ(jwk["alg"].GetString(), "SM2SM3");
  auto point = PublicKey::FromEcPoint(KeyAlgorithm::kSm2, *Base64UrlDecode(jwk["x"].GetString()),
                                      *Base64UrlDecode(jwk["y"].GetString()));
  ASSERT_TRUE(point.ok()) << point.error().text();
  EXPECT_EQ(point->algorithm(), KeyAlgorithm::kSm2);
  auto signature = sm2->Sign("data", SignatureFormat::kRaw);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(point->Verify("data", *signature, SignatureFormat::kRaw));
  // The P-256 point decoder does not take the SM2 point.
  EXPECT_FALSE(PublicKey::FromEcPoint(KeyAlgorithm::kEcP256, *Base64UrlDecode(jwk["x"].GetString()),
                                      *Base64UrlDecode(jwk["y"].GetString()))
                   .ok());
}

}  // namespace
}  // namespace server::security
