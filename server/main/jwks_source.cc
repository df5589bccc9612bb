#include "server/main/jwks_source.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>

#include <exception>
#include <fstream>
#include <istream>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace server::main {

namespace {

fhir::Error Unavailable(const std::string& location, const std::string& why) {
  return fhir::Error::Unavailable("jwks.unavailable",
                                  "The key set at " + location + " is unavailable: " + why);
}

// Reads at most `max_bytes` from `in`; nullopt when there is more.
std::optional<std::string> ReadLimited(std::istream& in, std::size_t max_bytes) {
  std::string out;
  char buffer[8192];
  while (in) {
    in.read(buffer, sizeof buffer);
    out.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (out.size() > max_bytes) return std::nullopt;
  }
  return out;
}

// The TLS client context of an https fetch: peers are checked against `ca_file`, or the system's
// CA store when it is empty, and their host name. VERIFY_STRICT because Poco skips the host name
// check for loopback addresses in its relaxed mode.
Poco::Net::Context::Ptr ClientContext(const std::string& ca_file) {
  static std::once_flag initialized;
  std::call_once(initialized, [] { Poco::Net::initializeSSL(); });
  return Poco::Net::Context::Ptr(new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, ca_file,
                                                        Poco::Net::Context::VERIFY_STRICT, 9,
                                                        ca_file.empty()));
}

fhir::Result<std::string> HttpGet(const std::string& location, const JwksSource::Options& options) {
  try {
    const Poco::URI uri(location);
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(),
                                                                ClientContext(options.ca_file));
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    session->setTimeout(Poco::Timespan(static_cast<long>(options.timeout.count()), 0));
    std::string path = uri.getPathAndQuery();
    if (path.empty()) path = "/";
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Accept", "application/jwk-set+json, application/json");
    session->sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& body = session->receiveResponse(response);
    if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
      return Unavailable(location, "the server answered " +
                                       std::to_string(static_cast<int>(response.getStatus())));
    }
    std::optional<std::string> text = ReadLimited(body, options.max_bytes);
    if (!text) return Unavailable(location, "the document is too large");
    return std::move(*text);
  } catch (const Poco::Exception& e) {
    return Unavailable(location, e.displayText());
  } catch (const std::exception& e) {
    return Unavailable(location, e.what());
  }
}

fhir::Result<std::string> ReadFile(const std::string& location, const std::string& path,
                                   std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unavailable(location, "the file cannot be read");
  std::optional<std::string> text = ReadLimited(in, max_bytes);
  if (!text) return Unavailable(location, "the document is too large");
  return std::move(*text);
}

}  // namespace

JwksSource::JwksSource(std::string location, Options options)
    : location_(std::move(location)), options_(std::move(options)) {}

fhir::Result<std::unique_ptr<JwksSource>> JwksSource::Open(std::string location, Options options) {
  std::unique_ptr<JwksSource> source(new JwksSource(std::move(location), std::move(options)));
  auto keys = source->Fetch();
  if (!keys) return std::move(keys).error();
  source->keys_ = std::make_shared<const security::KeySet>(std::move(*keys));
  source->last_fetch_ = source->Now();
  return source;
}

std::chrono::steady_clock::time_point JwksSource::Now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

fhir::Result<security::KeySet> JwksSource::Fetch() const {
  fhir::Result<std::string> text = std::string();
  if (location_.starts_with("http://") || location_.starts_with("https://")) {
    text = HttpGet(location_, options_);
  } else {
    constexpr std::string_view kFileScheme = "file://";
    const std::string path =
        location_.starts_with(kFileScheme) ? location_.substr(kFileScheme.size()) : location_;
    text = ReadFile(location_, path, options_.max_bytes);
  }
  if (!text) return std::move(text).error();
  return security::KeySet::FromJwks(*text);
}

std::shared_ptr<const security::KeySet> JwksSource::Keys() const {
  std::lock_guard lock(mutex_);
  return keys_;
}

std::shared_ptr<const security::KeySet> JwksSource::KeysFor(std::string_view kid) {
  std::shared_ptr<const security::KeySet> current = Keys();
  if (kid.empty() || current->Contains(kid)) return current;
  std::lock_guard fetching(fetch_mutex_);
  {
    std::lock_guard lock(mutex_);
    // Another thread may have fetched it while this one waited.
    if (keys_->Contains(kid) || Now() - last_fetch_ < options_.refetch_interval) return keys_;
    last_fetch_ = Now();
  }
  auto fetched = Fetch();
  std::lock_guard lock(mutex_);
  if (fetched) keys_ = std::make_shared<const security::KeySet>(std::move(*fetched));
  return keys_;
}

fhir::Result<void> JwksSource::Reload() {
  std::lock_guard fetching(fetch_mutex_);
  {
    std::lock_guard lock(mutex_);
    last_fetch_ = Now();
  }
  auto fetched = Fetch();
  if (!fetched) return std::move(fetched).error();
  std::lock_guard lock(mutex_);
  keys_ = std::make_shared<const security::KeySet>(std::move(*fetched));
  return {};
}

}  // namespace server::main
