#pragma once
// The audit log: one hash-chained JSON line (proto/audit_chain.hpp) per decision:
// time, peer uid/gid/pid/exe, action, key, method, path, decision, rule. Records
// are formatted by the caller and queued as bytes; one writer thread chains them
// and appends them a batch at a time (one write for all the records that arrived
// in the last millisecond), so the signing path never waits for the disk or the
// hash and a busy daemon does not pay a system call and a thread wake-up per
// sign. A full queue makes callers wait rather than drop records. Never given
// secrets, passphrases or signatures. Thread-safe.

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
  ~Audit();  // writes everything still queued
  Audit(const Audit&) = delete;
  Audit& operator=(const Audit&) = delete;

  void record(const Peer& peer, const AuditRecord& record);
  // Blocks until every record so far is written and synced (tests, shutdown).
  void flush();

 private:
  struct Writer;
  std::unique_ptr<Writer> writer_;  // null when disabled
};

}  // namespace okxvault
