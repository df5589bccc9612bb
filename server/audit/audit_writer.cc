#include "server/audit/audit_writer.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "server/audit/audit_chain.h"

namespace server::audit {

AuditWriter::AuditWriter(store::AuditLog& log, AuditWriterOptions options)
    : log_(log),
      max_batch_(std::max<std::size_t>(options.max_batch, 1)),
      thread_([this] { Run(); }) {}

AuditWriter::~AuditWriter() { Stop(); }

fhir::Result<std::int64_t> AuditWriter::Record(store::AuditEntry entry) {
  return Wait(Submit(std::move(entry)));
}

std::shared_ptr<AuditWriter::Ticket> AuditWriter::Submit(store::AuditEntry entry) {
  auto ticket = std::make_shared<Ticket>();
  if (auto checked = CheckEntry(entry); !checked.ok()) {
    ticket->result.emplace(std::move(checked).error());
    return ticket;
  }
  ticket->entry = std::move(entry);
  std::lock_guard lock(mu_);
  if (stopping_) {
    ticket->result.emplace(
        fhir::Error::Unavailable("audit.writer-stopped", "the audit log writer has stopped"));
    return ticket;
  }
  queue_.push_back(ticket);
  work_.notify_one();
  return ticket;
}

fhir::Result<std::int64_t> AuditWriter::Wait(const std::shared_ptr<Ticket>& ticket) {
  std::unique_lock lock(mu_);
  ticket->done.wait(lock, [&] { return ticket->result.has_value(); });
  return *ticket->result;
}

std::size_t AuditWriter::queued() {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void AuditWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_one();
  std::call_once(joined_, [this] { thread_.join(); });
}

void AuditWriter::Run() {
  std::vector<std::shared_ptr<Ticket>> batch;
  std::vector<store::AuditEntry> entries;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything appended
      const std::size_t n = std::min(queue_.size(), max_batch_);
      batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    // An entry is not looked at once queued, so it can be moved out meanwhile.
    entries.clear();
    for (const auto& ticket : batch) entries.push_back(std::move(ticket->entry));
    auto seqs = log_.Append(std::move(entries));
    if (seqs.ok() && seqs->size() != batch.size()) {
      seqs = fhir::Error::Internal("audit.append-mismatch",
                                   "the audit log assigned " + std::to_string(seqs->size()) +
                                       " seqs to a batch of " + std::to_string(batch.size()));
    }
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (seqs.ok()) {
        batch[i]->result.emplace((*seqs)[i]);
      } else {
        batch[i]->result.emplace(seqs.error());
      }
      batch[i]->done.notify_all();
    }
    batch.clear();
  }
}

}  // namespace server::audit
