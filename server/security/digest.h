// Message digests and the byte encodings the security code exchanges: hexadecimal and the
// unpadded base64url of JOSE (RFC 7515 section 2). SHA-256 and SM3 (GB/T 32905) come from
// OpenSSL's libcrypto. Every function is pure and safe to call from any thread.
#ifndef SERVER_SECURITY_DIGEST_H_
#define SERVER_SECURITY_DIGEST_H_

#include <optional>
#include <string>
#include <string_view>

namespace server::security {

enum class HashAlgorithm { kSha256, kSm3 };

// "sha256" or "sm3" (lower case, as written in configuration); nullopt for anything else.
std::optional<HashAlgorithm> ParseHashAlgorithm(std::string_view name);
// The name ParseHashAlgorithm accepts for `algorithm`.
std::string_view HashAlgorithmName(HashAlgorithm algorithm);

// The raw digest of `data`: 32 bytes for both algorithms.
std::string Digest(HashAlgorithm algorithm, std::string_view data);

// Lower-case hexadecimal, two characters per byte.
std::string HexEncode(std::string_view bytes);
// The bytes of a hexadecimal text (either case); nullopt when the length is odd or a character
// is not a hexadecimal digit.
std::optional<std::string> HexDecode(std::string_view hex);

// base64url (RFC 4648 section 5) without '=' padding.
std::string Base64UrlEncode(std::string_view bytes);
// The bytes of an unpadded base64url text; nullopt when it holds padding, whitespace or any
// character outside the base64url alphabet, when its length leaves a single trailing character
// (length % 4 == 1), or when the unused low bits of the last character are not zero (so every
// byte string has exactly one accepted encoding).
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace server::security

#endif  // SERVER_SECURITY_DIGEST_H_
