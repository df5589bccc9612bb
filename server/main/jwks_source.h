// The keys that sign access tokens, from a JWKS document in a file or at an http(s) URL (an
// authorization server's jwks_uri). The set is loaded once when the source is opened and cached;
// a token naming a key id the cached set lacks (the issuer rotated its keys) makes the source
// fetch the document again, at most once per refetch interval however many such tokens arrive,
// so unknown key ids cannot be used to flood the issuer. A failed refetch keeps the cached set.
// Thread-safe: any number of threads may ask for keys while one of them refetches.
#ifndef SERVER_MAIN_JWKS_SOURCE_H_
#define SERVER_MAIN_JWKS_SOURCE_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "fhir/result.h"
#include "server/security/jwt.h"

namespace server::main {

struct JwksSourceOptions {
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // The least time between two fetches caused by unknown key ids.
  std::chrono::seconds refetch_interval{60};
  // Connection, send and receive timeout of an http(s) fetch.
  std::chrono::seconds timeout{10};
  // The largest document accepted.
  std::size_t max_bytes = 1 << 20;
  // For https: a PEM file of the CA certificates to trust instead of the system's (an issuer with
  // a private CA). Empty: the system's CA store.
  std::string ca_file;
  // The time source; steady_clock::now when empty (tests set their own).
  Clock clock;
};

class JwksSource {
 public:
  using Options = JwksSourceOptions;
  using Clock = JwksSourceOptions::Clock;

  // Opens `location`: "http://..." or "https://..." (the server's certificate is checked against
  // the trusted CAs, see ca_file, and the host name), "file://PATH", or a file path; and loads the
  // set.
  // 503 jwks.unavailable when the document cannot be fetched or read (the text says why, e.g. the
  // HTTP status); 400 security.invalid-jwks when it is not a valid JWKS.
  static fhir::Result<std::unique_ptr<JwksSource>> Open(std::string location, Options options = {});

  // The cached set.
  std::shared_ptr<const security::KeySet> Keys() const;
  // The set to verify a token whose header names `kid`: the cached one, fetched again first when
  // `kid` is not empty, the cached set does not hold it, and no fetch happened within the refetch
  // interval.
  std::shared_ptr<const security::KeySet> KeysFor(std::string_view kid);
  // Fetches the document now, whatever the interval; on failure the cached set stays.
  fhir::Result<void> Reload();

  const std::string& location() const { return location_; }

 private:
  JwksSource(std::string location, Options options);
  // Fetches and parses the document; does not touch the cache.
  fhir::Result<security::KeySet> Fetch() const;
  std::chrono::steady_clock::time_point Now() const;

  const std::string location_;
  const Options options_;
  std::mutex fetch_mutex_;  // one fetch at a time; held without mutex_
  mutable std::mutex mutex_;
  std::shared_ptr<const security::KeySet> keys_;      // guarded by mutex_
  std::chrono::steady_clock::time_point last_fetch_;  // guarded by mutex_
};

}  // namespace server::main

#endif  // SERVER_MAIN_JWKS_SOURCE_H_
