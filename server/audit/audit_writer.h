// AuditWriter: group commit for the audit log. Request threads call Record, which blocks until
// their entry is durable; one background thread collects the entries waiting and appends them
// as one batch (AuditLog::Append, one commit), up to max_batch at a time, then wakes each caller
// with its own seq. While a batch is being appended the next one gathers, so the commit rate,
// not the request rate, bounds the number of appends. A thread with several entries (the
// entries of a Bundle) Submits each without blocking and Waits for them together, so that they
// share commits rather than each paying for one.
//
// Errors: an entry that AuditLog::Append would refuse for itself (audit.invalid-entry) is
// refused by Record at once, so it never fails a batch; a failure of Append is returned to every
// caller of that batch; Record after Stop answers audit.writer-stopped (503).
//
// Thread-safe. The log must outlive the writer.
#ifndef SERVER_AUDIT_AUDIT_WRITER_H_
#define SERVER_AUDIT_AUDIT_WRITER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "fhir/result.h"
#include "server/store/audit_log.h"

namespace server::audit {

struct AuditWriterOptions {
  std::size_t max_batch = 1000;  // entries per Append, at least 1
};

class AuditWriter {
 public:
  explicit AuditWriter(store::AuditLog& log, AuditWriterOptions options = {});
  // Stops (see Stop).
  ~AuditWriter();
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  class Ticket;

  // Appends `entry` (seq, tenant and hashes are set by the log) and returns its seq once it is
  // committed, or the error of its batch: Wait(Submit(entry)).
  fhir::Result<std::int64_t> Record(store::AuditEntry entry);
  // Queues `entry` and returns at once; Wait on the ticket returns what Record would have.
  std::shared_ptr<Ticket> Submit(store::AuditEntry entry);
  fhir::Result<std::int64_t> Wait(const std::shared_ptr<Ticket>& ticket);

  // How many entries wait for a batch (not counting the batch being appended).
  std::size_t queued();

  // Appends what is waiting, then ends the background thread; later Records fail. Idempotent.
  void Stop();

 private:
  void Run();

  store::AuditLog& log_;
  const std::size_t max_batch_;
  std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::shared_ptr<Ticket>> queue_;  // guarded by mu_
  bool stopping_ = false;                      // guarded by mu_
  std::once_flag joined_;
  std::thread thread_;  // last: started once the rest is ready
};

// An entry submitted to the writer, until its batch is appended.
class AuditWriter::Ticket {
 private:
  friend class AuditWriter;
  store::AuditEntry entry;
  std::optional<fhir::Result<std::int64_t>> result;  // set once, under the writer's mu_
  std::condition_variable done;
};

}  // namespace server::audit

#endif  // SERVER_AUDIT_AUDIT_WRITER_H_
