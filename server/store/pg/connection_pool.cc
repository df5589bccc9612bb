#include "server/store/pg/connection_pool.h"

#include <utility>

namespace server::store::pg {

ConnectionPool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

ConnectionPool::ConnectionPool(PoolOptions options) : options_(std::move(options)) {}

fhir::Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  std::unique_lock lock(mu_);
  bool ready = available_.wait_for(lock, options_.acquire_timeout,
                                   [this] { return !idle_.empty() || open_ < options_.max_size; });
  if (!ready) {
    return fhir::Error::Unavailable("store.unavailable",
                                    "no database connection became free in time");
  }
  if (!idle_.empty()) {
    std::unique_ptr<PgConnection> conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  // Connect without the lock: it takes a round trip or more and other borrowers must not wait.
  lock.unlock();
  auto conn = PgConnection::Connect(options_.conninfo);
  if (!conn.ok()) {
    lock.lock();
    --open_;
    available_.notify_one();
    return std::move(conn).error();
  }
  return Lease(this, std::move(conn).value());
}

void ConnectionPool::Release(std::unique_ptr<PgConnection> conn) {
  bool reusable = conn->healthy() && !conn->in_transaction();
  if (!reusable) conn.reset();
  std::lock_guard lock(mu_);
  if (reusable) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  available_.notify_one();
}

}  // namespace server::store::pg
