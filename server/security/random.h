// Unpredictable bytes from OpenSSL's CSPRNG, for token ids, nonces and secrets.
#ifndef SERVER_SECURITY_RANDOM_H_
#define SERVER_SECURITY_RANDOM_H_

#include <cstddef>
#include <string>

#include "fhir/result.h"

namespace server::security {

// `count` random bytes. 500 security.crypto-failure when the generator cannot be seeded.
fhir::Result<std::string> RandomBytes(std::size_t count);

}  // namespace server::security

#endif  // SERVER_SECURITY_RANDOM_H_
