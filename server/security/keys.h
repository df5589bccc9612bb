// Asymmetric keys and signatures: RSA, ECDSA on P-256 and SM2 (GB/T 32918), over OpenSSL's
// libcrypto.
//
// Signature schemes, one per key algorithm:
//   kRsa    RSASSA-PKCS1-v1_5 with SHA-256 (JWS "RS256"); keys of at least 2048 bits.
//   kEcP256 ECDSA on P-256 with SHA-256 (JWS "ES256").
//   kSm2    SM2 signature with the SM3 digest and the default distinguishing identifier
//           "1234567812345678" (GM/T 0009).
// An ECDSA or SM2 signature is written either as DER (the ASN.1 SEQUENCE of r and s that
// OpenSSL and X.509 use) or raw (r then s, each 32 big-endian bytes, as JWS does); an RSA
// signature has one form, which both formats name.
//
// Keys are immutable once built; every const member function is safe to call from several
// threads at once. Failures are values: 400 security.invalid-key for key material that cannot be
// read or is not supported, 500 security.crypto-failure when libcrypto fails on a valid key.
#ifndef SERVER_SECURITY_KEYS_H_
#define SERVER_SECURITY_KEYS_H_

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fhir/result.h"

namespace server::security {

enum class KeyAlgorithm { kRsa, kEcP256, kSm2 };
enum class SignatureFormat { kDer, kRaw };

// "RSA", "EC P-256" or "SM2", for messages.
std::string_view KeyAlgorithmName(KeyAlgorithm algorithm);
// The JWS "alg" of an algorithm's signature scheme: "RS256", "ES256" or "SM2SM3" (the name this
// server gives SM2 with SM3, signatures raw r||s like ES256; no registered JWS name exists).
std::string_view JwsAlgorithmName(KeyAlgorithm algorithm);
// The key algorithm of one of those three JWS names; nullopt for any other ("none", "HS256", ...).
std::optional<KeyAlgorithm> ParseJwsAlgorithm(std::string_view alg);

// An ECDSA or SM2 signature's DER form as raw r||s (64 bytes), and back; nullopt when the input
// is not a signature of that form whose r and s fit in 32 bytes.
std::optional<std::string> DerToRaw(std::string_view der);
std::optional<std::string> RawToDer(std::string_view raw);

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const;
};

class PublicKey {
 public:
  // A SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"). An EC key on the SM2 curve is an SM2 key.
  static fhir::Result<PublicKey> FromPem(std::string_view pem);
  // An RSA key from its modulus and public exponent as unsigned big-endian bytes (JWK n, e).
  static fhir::Result<PublicKey> FromRsa(std::string_view modulus, std::string_view exponent);
  // A P-256 or SM2 key from its point's coordinates, each 32 big-endian bytes (JWK x, y); the
  // point must lie on the curve. `algorithm` must not be kRsa.
  static fhir::Result<PublicKey> FromEcPoint(KeyAlgorithm algorithm, std::string_view x,
                                             std::string_view y);

  KeyAlgorithm algorithm() const { return algorithm_; }
  // SubjectPublicKeyInfo PEM.
  std::string ToPem() const;
  // Whether `signature` is this key's signature of `data` in the given format. Any malformed
  // signature is simply not valid.
  bool Verify(std::string_view data, std::string_view signature,
              SignatureFormat format = SignatureFormat::kDer) const;
  // The public JWK (RFC 7517) as a JSON object text: kty "RSA" with n and e, or kty "EC" with
  // crv ("P-256" or "SM2"), x and y; then "use":"sig", the JWS alg (RS256, ES256, SM2SM3) and,
  // when not empty, kid.
  std::string Jwk(std::string_view kid) const;
  // The RFC 7638 JWK thumbprint: base64url of the SHA-256 of the required members (kty and n, e
  // or crv, x, y) in canonical order. Stable for a key; a good default kid.
  std::string Thumbprint() const;

 private:
  friend class PrivateKey;
  PublicKey(std::shared_ptr<EVP_PKEY> key, KeyAlgorithm algorithm)
      : key_(std::move(key)), algorithm_(algorithm) {}
  // The canonical members of the JWK, without use, alg and kid.
  std::string JwkMembers() const;

  std::shared_ptr<EVP_PKEY> key_;
  KeyAlgorithm algorithm_;
};

class PrivateKey {
 public:
  // A fresh key: RSA of 2048 bits, or a P-256 or SM2 key pair. 500 security.crypto-failure when
  // libcrypto cannot generate it.
  static fhir::Result<PrivateKey> Generate(KeyAlgorithm algorithm);
  // An unencrypted PEM private key: PKCS#8 ("BEGIN PRIVATE KEY") or the traditional forms
  // ("BEGIN RSA PRIVATE KEY", "BEGIN EC PRIVATE KEY", "BEGIN SM2 PRIVATE KEY"). An EC key on the
  // SM2 curve is an SM2 key. Encrypted PEM is refused (there is no passphrase to ask for).
  static fhir::Result<PrivateKey> FromPem(std::string_view pem);

  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;

  KeyAlgorithm algorithm() const { return algorithm_; }
  // Unencrypted PKCS#8 PEM.
  std::string ToPem() const;
  PublicKey Public() const;
  // The signature of `data` under this key's scheme (see the top of this file), in `format`.
  fhir::Result<std::string> Sign(std::string_view data,
                                 SignatureFormat format = SignatureFormat::kDer) const;

 private:
  PrivateKey(std::unique_ptr<EVP_PKEY, PkeyDeleter> key, KeyAlgorithm algorithm)
      : key_(std::move(key)), algorithm_(algorithm) {}

  std::unique_ptr<EVP_PKEY, PkeyDeleter> key_;
  KeyAlgorithm algorithm_;
};

}  // namespace server::security

#endif  // SERVER_SECURITY_KEYS_H_
