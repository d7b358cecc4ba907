#pragma once
// The audit log: one hash-chained JSON line (proto/audit_chain.hpp) per decision:
// time, peer uid/gid/pid/exe, action, key, method, path, decision, rule. The
// caller formats and seals its record; the lines are appended a batch at a time,
// one write for those of about a millisecond, by an I/O thread once its reply is
// out (write_due), so a busy daemon pays neither a system call nor a thread
// wake-up per sign. Lines left when requests stop are written within a few
// milliseconds by a backstop thread that sleeps while there are none. When the
// disk falls behind, callers wait rather than drop records. Never given secrets,
// passphrases or signatures. Thread-safe.

#include <filesystem>
#include <memory>
#include <string_view>

#include "daemon/peer.hpp"

namespace okxvault {

struct AuditRecord {
  std::string_view action;  // sign, ws-login, add, revoke, grants, list, ...
  std::string_view key;
  std::string_view method;
  std::string_view path;
  bool allowed = false;
  std::string_view rule;
};

class Audit {
 public:
  // Appends to `path` (created 0600), continuing the chain of its last line.
  explicit Audit(const std::filesystem::path& path);
  // Records nothing. Only for measuring what the log costs (okx-vaultd's hidden
  // --benchmark-without-audit): a serving daemon always audits.
  struct Disabled {};
  explicit Audit(Disabled);
  ~Audit();  // writes every line still pending
  Audit(const Audit&) = delete;
  Audit& operator=(const Audit&) = delete;

  void record(const Peer& peer, const AuditRecord& record);
  // Writes the pending lines if they are due: for the I/O threads, after a reply.
  // Costs one atomic load when they are not.
  void write_due();
  // Blocks until every record so far is written and synced (tests, shutdown).
  void flush();

 private:
  struct Writer;
  std::unique_ptr<Writer> writer_;  // null when disabled
};

}  // namespace okxvault
