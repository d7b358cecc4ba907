#pragma once
// The audit log: one hash-chained JSON line (proto/audit_chain.hpp) per decision:
// time, peer uid/gid/pid/exe, action, key, method, path, decision, rule, each
// member bounded (audit_fields.hpp). The caller formats and seals its record; the
// lines are appended a batch at a time, one write for those of about a
// millisecond, by an I/O thread once its reply is out (write_due), so a busy
// daemon pays neither a system call nor a thread wake-up per sign. Lines left when
// requests stop are written within a few milliseconds by a backstop thread that
// sleeps while there are none. When the disk falls behind, callers wait rather
// than drop records.
//
// Refusals that repeat are summarised: the first of a (uid, pid, action, key,
// rule) in a window is written in full, the others are counted and written as one
// line when the window ends, at flush and at shutdown.
//
// Room for the log is allocated ahead of its end. When no more can be had, or a
// write fails, the log is unwritable (writable() is false, and sign and ws-login
// refuse) until room and a write succeed again: lines are kept and retried, never
// dropped. Never given secrets, passphrases or signatures. Thread-safe.

#include <chrono>
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
  // How long repeats of a refusal are counted before their summary is written.
  static constexpr std::chrono::milliseconds kRepeatWindow{10'000};

  // Appends to `path` (created 0600), continuing the chain of its last line.
  explicit Audit(const std::filesystem::path& path, std::chrono::milliseconds repeat_window = kRepeatWindow);
  // Records nothing. Only for measuring what the log costs (okx-vaultd's hidden
  // --benchmark-without-audit): a serving daemon always audits.
  struct Disabled {};
  explicit Audit(Disabled);
  ~Audit();  // writes every line still pending, if it can
  Audit(const Audit&) = delete;
  Audit& operator=(const Audit&) = delete;

  void record(const Peer& peer, const AuditRecord& record);
  // Writes the pending lines if they are due: for the I/O threads, after a reply.
  // Costs one atomic load when they are not.
  void write_due();
  // Writes every record so far, and the summaries of the refusals counted so far,
  // and syncs them (tests, shutdown). False if the log cannot be written: the
  // lines stay pending. Never waits for room on the disk.
  bool flush();

  // Whether the log has room for the lines of what is signed now. One atomic load.
  bool writable() const;
  // Error(audit_unavailable) unless writable(): what sign and ws-login check first.
  void require_writable() const;

 private:
  struct Writer;
  std::unique_ptr<Writer> writer_;  // null when disabled
};

}  // namespace okxvault
