// ConnectionPool: a bounded set of PgConnections shared by threads. Connections are opened on
// demand up to `max_size` and kept; Acquire blocks until one is free, for at most
// `acquire_timeout`, then answers store.unavailable (503). A connection returned broken, or still
// inside a transaction, is closed rather than reused.
//
// Thread-safe. The pool must outlive every Lease.
#ifndef SERVER_STORE_PG_CONNECTION_POOL_H_
#define SERVER_STORE_PG_CONNECTION_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fhir/result.h"
#include "server/store/pg/connection.h"

namespace server::store::pg {

struct PoolOptions {
  std::string conninfo;  // libpq connection string or URL
  std::size_t max_size = 16;
  std::chrono::milliseconds acquire_timeout{5000};
};

class ConnectionPool {
 public:
  // A borrowed connection, given back to the pool when destroyed.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<PgConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConnection& operator*() const { return *conn_; }
    PgConnection* operator->() const { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  explicit ConnectionPool(PoolOptions options);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  fhir::Result<Lease> Acquire();

 private:
  void Release(std::unique_ptr<PgConnection> conn);

  const PoolOptions options_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mu_
  std::size_t open_ = 0;                             // idle + leased + being opened; guarded by mu_
};

}  // namespace server::store::pg

#endif  // SERVER_STORE_PG_CONNECTION_POOL_H_
