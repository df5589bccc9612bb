#include "server/security/keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <utility>

#include "server/security/digest.h"

namespace server::security {

void PkeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct Free {
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

constexpr size_t kCoordinateSize = 32;
constexpr int kMinRsaBits = 2048;
// The default SM2 distinguishing identifier (GM/T 0009-2012).
constexpr std::string_view kSm2Id = "1234567812345678";

fhir::Error InvalidKey(std::string text) {
  ERR_clear_error();
  return fhir::Error::Invalid("security.invalid-key", std::move(text));
}

fhir::Error CryptoFailure(std::string text) {
  ERR_clear_error();
  return fhir::Error::Internal("security.crypto-failure", std::move(text));
}

// A passphrase callback that supplies none, so encrypted PEM fails instead of prompting.
int NoPassphrase(char*, int, int, void*) { return -1; }

Owned<BIO> ReadBio(std::string_view text) {
  return Owned<BIO>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  return length > 0 ? std::string(data, static_cast<size_t>(length)) : std::string();
}

std::string GroupName(EVP_PKEY* key) {
  std::array<char, 80> name{};
  size_t length = 0;
  if (EVP_PKEY_get_group_name(key, name.data(), name.size(), &length) != 1) return {};
  return std::string(name.data(), length);
}

// An EC key on the SM2 curve as a key of libcrypto's SM2 type, which signs with the SM2 scheme.
PkeyPtr AsSm2(EVP_PKEY* key) {
  OSSL_PARAM* raw = nullptr;
  if (EVP_PKEY_todata(key, EVP_PKEY_KEYPAIR, &raw) != 1) return nullptr;
  Owned<OSSL_PARAM> params(raw);
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
  EVP_PKEY* out = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &out, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return nullptr;
  }
  return PkeyPtr(out);
}

// The algorithm of a key read from outside, with the key itself (an EC key on the SM2 curve
// becomes an SM2 key); an error for what this file does not support.
fhir::Result<std::pair<PkeyPtr, KeyAlgorithm>> Classify(PkeyPtr key) {
  if (EVP_PKEY_is_a(key.get(), "RSA")) {
    if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
      return InvalidKey("An RSA key must have at least 2048 bits");
    }
    return std::pair{std::move(key), KeyAlgorithm::kRsa};
  }
  if (EVP_PKEY_is_a(key.get(), "SM2")) return std::pair{std::move(key), KeyAlgorithm::kSm2};
  if (EVP_PKEY_is_a(key.get(), "EC")) {
    const std::string group = GroupName(key.get());
    if (group == "prime256v1" || group == "P-256") {
      return std::pair{std::move(key), KeyAlgorithm::kEcP256};
    }
    if (group == "SM2") {
      PkeyPtr sm2 = AsSm2(key.get());
      if (!sm2) return CryptoFailure("The SM2 key could not be prepared");
      return std::pair{std::move(sm2), KeyAlgorithm::kSm2};
    }
    return InvalidKey("Only EC keys on the P-256 or SM2 curve are supported");
  }
  return InvalidKey("Only RSA, EC P-256 and SM2 keys are supported");
}

fhir::Result<void> CheckPublic(EVP_PKEY* key) {
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
    return InvalidKey("The public key is not valid");
  }
  return {};
}

fhir::Result<PkeyPtr> FromParams(const char* type, OSSL_PARAM_BLD* builder) {
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder));
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return InvalidKey("The public key is not valid");
  }
  PkeyPtr owned(key);
  if (auto checked = CheckPublic(owned.get()); !checked) return std::move(checked).error();
  return owned;
}

std::string BigNumParam(EVP_PKEY* key, const char* name, size_t width) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return {};
  Owned<BIGNUM> bn(raw);
  const size_t size = width != 0 ? width : static_cast<size_t>(BN_num_bytes(bn.get()));
  std::string out(size, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size)) <
      0) {
    return {};
  }
  return out;
}

// The digest of an algorithm's signature scheme.
const char* DigestName(KeyAlgorithm algorithm) {
  return algorithm == KeyAlgorithm::kSm2 ? "SM3" : "SHA256";
}

// Sets the SM2 identifier on a signing or verifying context once it is initialised (libcrypto
// takes it only then, before the first data).
bool SetScheme(KeyAlgorithm algorithm, EVP_PKEY_CTX* ctx) {
  if (algorithm != KeyAlgorithm::kSm2) return true;
  return EVP_PKEY_CTX_set1_id(ctx, kSm2Id.data(), static_cast<int>(kSm2Id.size())) == 1;
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

// The JWK's required members in RFC 7638 order (lexicographic).
void WriteRequiredMembers(JsonWriter& writer, EVP_PKEY* key, KeyAlgorithm algorithm) {
  if (algorithm == KeyAlgorithm::kRsa) {
    writer.Key("e");
    WriteString(writer, Base64UrlEncode(BigNumParam(key, OSSL_PKEY_PARAM_RSA_E, 0)));
    writer.Key("kty");
    writer.String("RSA");
    writer.Key("n");
    WriteString(writer, Base64UrlEncode(BigNumParam(key, OSSL_PKEY_PARAM_RSA_N, 0)));
    return;
  }
  writer.Key("crv");
  writer.String(algorithm == KeyAlgorithm::kSm2 ? "SM2" : "P-256");
  writer.Key("kty");
  writer.String("EC");
  writer.Key("x");
  WriteString(writer, Base64UrlEncode(BigNumParam(key, OSSL_PKEY_PARAM_EC_PUB_X, kCoordinateSize)));
  writer.Key("y");
  WriteString(writer, Base64UrlEncode(BigNumParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, kCoordinateSize)));
}

}  // namespace

std::string_view KeyAlgorithmName(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kRsa:
      return "RSA";
    case KeyAlgorithm::kEcP256:
      return "EC P-256";
    case KeyAlgorithm::kSm2:
      return "SM2";
  }
  return {};
}

std::string_view JwsAlgorithmName(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::kRsa:
      return "RS256";
    case KeyAlgorithm::kEcP256:
      return "ES256";
    case KeyAlgorithm::kSm2:
      return "SM2SM3";
  }
  return {};
}

std::optional<KeyAlgorithm> ParseJwsAlgorithm(std::string_view alg) {
  if (alg == "RS256") return KeyAlgorithm::kRsa;
  if (alg == "ES256") return KeyAlgorithm::kEcP256;
  if (alg == "SM2SM3") return KeyAlgorithm::kSm2;
  return std::nullopt;
}

std::optional<std::string> DerToRaw(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Owned<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return std::nullopt;
  }
  const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  std::string raw(2 * kCoordinateSize, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_is_negative(r) || BN_is_negative(s) || BN_bn2binpad(r, out, kCoordinateSize) < 0 ||
      BN_bn2binpad(s, out + kCoordinateSize, kCoordinateSize) < 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  return raw;
}

std::optional<std::string> RawToDer(std::string_view raw) {
  if (raw.size() != 2 * kCoordinateSize) return std::nullopt;
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  Owned<BIGNUM> r(BN_bin2bn(in, kCoordinateSize, nullptr));
  Owned<BIGNUM> s(BN_bin2bn(in + kCoordinateSize, kCoordinateSize, nullptr));
  Owned<ECDSA_SIG> sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

// ---- PublicKey ----

fhir::Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  Owned<BIO> bio = ReadBio(pem);
  PkeyPtr key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!key) return InvalidKey("The text is not a PEM public key");
  auto classified = Classify(std::move(key));
  if (!classified) return std::move(classified).error();
  auto [owned, algorithm] = std::move(*classified);
  return PublicKey(std::shared_ptr<EVP_PKEY>(owned.release(), PkeyDeleter()), algorithm);
}

fhir::Result<PublicKey> PublicKey::FromRsa(std::string_view modulus, std::string_view exponent) {
  if (modulus.empty() || exponent.empty())
    return InvalidKey("The RSA key has no modulus or exponent");
  Owned<BIGNUM> n(BN_bin2bn(reinterpret_cast<const unsigned char*>(modulus.data()),
                            static_cast<int>(modulus.size()), nullptr));
  Owned<BIGNUM> e(BN_bin2bn(reinterpret_cast<const unsigned char*>(exponent.data()),
                            static_cast<int>(exponent.size()), nullptr));
  Owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!n || !e || !builder ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return CryptoFailure("The RSA key could not be built");
  }
  auto key = FromParams("RSA", builder.get());
  if (!key) return std::move(key).error();
  auto classified = Classify(std::move(*key));
  if (!classified) return std::move(classified).error();
  auto [owned, algorithm] = std::move(*classified);
  return PublicKey(std::shared_ptr<EVP_PKEY>(owned.release(), PkeyDeleter()), algorithm);
}

fhir::Result<PublicKey> PublicKey::FromEcPoint(KeyAlgorithm algorithm, std::string_view x,
                                               std::string_view y) {
  if (algorithm == KeyAlgorithm::kRsa) return InvalidKey("An RSA key has no curve point");
  if (x.size() != kCoordinateSize || y.size() != kCoordinateSize) {
    return InvalidKey("Each coordinate of the point must be 32 bytes");
  }
  std::string point = "\x04";
  point.append(x);
  point.append(y);
  const bool sm2 = algorithm == KeyAlgorithm::kSm2;
  Owned<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      sm2 ? "SM2" : "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return CryptoFailure("The EC key could not be built");
  }
  auto key = FromParams(sm2 ? "SM2" : "EC", builder.get());
  if (!key) return std::move(key).error();
  return PublicKey(std::shared_ptr<EVP_PKEY>(key->release(), PkeyDeleter()), algorithm);
}

std::string PublicKey::ToPem() const {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    ERR_clear_error();
    return {};
  }
  return BioText(bio.get());
}

bool PublicKey::Verify(std::string_view data, std::string_view signature,
                       SignatureFormat format) const {
  std::string der;
  if (format == SignatureFormat::kRaw && algorithm_ != KeyAlgorithm::kRsa) {
    std::optional<std::string> converted = RawToDer(signature);
    if (!converted) return false;
    der = std::move(*converted);
    signature = der;
  }
  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  const bool valid =
      ctx &&
      EVP_DigestVerifyInit_ex(ctx.get(), &pctx, DigestName(algorithm_), nullptr, nullptr,
                              key_.get(), nullptr) == 1 &&
      SetScheme(algorithm_, pctx) &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) == 1;
  ERR_clear_error();
  return valid;
}

std::string PublicKey::JwkMembers() const {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  WriteRequiredMembers(writer, key_.get(), algorithm_);
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string PublicKey::Jwk(std::string_view kid) const {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  WriteRequiredMembers(writer, key_.get(), algorithm_);
  writer.Key("use");
  writer.String("sig");
  writer.Key("alg");
  WriteString(writer, JwsAlgorithmName(algorithm_));
  if (!kid.empty()) {
    writer.Key("kid");
    WriteString(writer, kid);
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string PublicKey::Thumbprint() const {
  return Base64UrlEncode(Digest(HashAlgorithm::kSha256, JwkMembers()));
}

// ---- PrivateKey ----

fhir::Result<PrivateKey> PrivateKey::Generate(KeyAlgorithm algorithm) {
  EVP_PKEY* key = nullptr;
  switch (algorithm) {
    case KeyAlgorithm::kRsa:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
      break;
    case KeyAlgorithm::kEcP256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyAlgorithm::kSm2: {
      Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "SM2", nullptr));
      if (ctx && EVP_PKEY_keygen_init(ctx.get()) == 1) EVP_PKEY_generate(ctx.get(), &key);
      break;
    }
  }
  if (key == nullptr) return CryptoFailure("The key could not be generated");
  return PrivateKey(PkeyPtr(key), algorithm);
}

fhir::Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  Owned<BIO> bio = ReadBio(pem);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr) : nullptr);
  if (!key) return InvalidKey("The text is not an unencrypted PEM private key");
  auto classified = Classify(std::move(key));
  if (!classified) return std::move(classified).error();
  auto [owned, algorithm] = std::move(*classified);
  return PrivateKey(std::move(owned), algorithm);
}

std::string PrivateKey::ToPem() const {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return {};
  }
  return BioText(bio.get());
}

PublicKey PrivateKey::Public() const {
  // Through the SubjectPublicKeyInfo encoding, so the public key holds no private material.
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key_.get(), &der);
  EVP_PKEY* pub = nullptr;
  if (length > 0) {
    const unsigned char* p = der;
    pub = d2i_PUBKEY(nullptr, &p, length);
  }
  OPENSSL_free(der);
  if (pub == nullptr || (algorithm_ == KeyAlgorithm::kSm2 && !EVP_PKEY_is_a(pub, "SM2"))) {
    // Out of memory, or a libcrypto that reads the SM2 curve as plain EC: share the key pair,
    // of which PublicKey only ever uses the public half.
    EVP_PKEY_free(pub);
    ERR_clear_error();
    EVP_PKEY_up_ref(key_.get());
    pub = key_.get();
  }
  return PublicKey(std::shared_ptr<EVP_PKEY>(pub, PkeyDeleter()), algorithm_);
}

fhir::Result<std::string> PrivateKey::Sign(std::string_view data, SignatureFormat format) const {
  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  size_t length = 0;
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), &pctx, DigestName(algorithm_), nullptr, nullptr, key_.get(),
                            nullptr) != 1 ||
      !SetScheme(algorithm_, pctx) ||
      EVP_DigestSign(ctx.get(), nullptr, &length, in, data.size()) != 1) {
    return CryptoFailure("The data could not be signed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, in,
                     data.size()) != 1) {
    return CryptoFailure("The data could not be signed");
  }
  signature.resize(length);
  if (format == SignatureFormat::kRaw && algorithm_ != KeyAlgorithm::kRsa) {
    std::optional<std::string> raw = DerToRaw(signature);
    if (!raw) return CryptoFailure("The signature could not be converted");
    return std::move(*raw);
  }
  return signature;
}

}  // namespace server::security
