#include "server/security/random.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <climits>

namespace server::security {

fhir::Result<std::string> RandomBytes(std::size_t count) {
  std::string out(count, '\0');
  if (count > INT_MAX ||
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    ERR_clear_error();
    return fhir::Error::Internal("security.crypto-failure", "No random bytes are available");
  }
  return out;
}

}  // namespace server::security
