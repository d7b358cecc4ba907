#pragma once
// The audit log: one hash-chained JSON line (proto/audit_chain.hpp), keyed once
// the vault gave its audit key (use_key), per decision:
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
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "daemon/core/peer.hpp"
#include "proto/audit_chain.hpp"

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

  // The audit key (Vault::audit_key): every line from now on is keyed with it
  // (proto/audit_chain.hpp). Lines written before, while the key was not at
  // hand, are chained by `hash`; the first keyed line vouches for them.
  void use_key(SecretBytes key);
  // Checks the log as written so far: its chain, every `mac` with the audit key
  // (if the daemon has it), and with `head` that the line of that hash is in
  // it. Reads the whole file, on the calling thread. Error(io_error) if it cannot.
  audit_chain::Verdict verify(std::optional<std::string_view> head);

  // The store's generation now (Vault::generation). From then on, the record of
  // every allowed action that writes the store (add, update, revoke, set-grants, lock,
  // the slot changes, rekey, accept-rollback) ends with `"gen":N`, the generation
  // of the store after it: the anchor by which a start tells a rolled-back store.
  void set_store_generation(std::function<std::uint64_t()> generation);
  // The `gen` of the last whole chained line of the log at `path` that has one;
  // nullopt if none does or there is no log. Reads the file from its end.
  static std::optional<std::uint64_t> last_generation(const std::filesystem::path& path);
  // Whether the log at `path` has a line number `line` whose hash is `hash`
  // (line 0: always). Reads the file up to that line.
  static bool holds(const std::filesystem::path& path, std::uint64_t line, std::string_view hash);
  // For log rotation (SIGHUP): if the log was moved aside, goes on in a new file
  // at its path (created 0600), whose first line is a `reopen-log` record that
  // continues the chain of the moved file's last line. The moved file gets the
  // lines recorded before, is synced, and is written no more. False if the file
  // at the path is the log itself (it was not moved); Error(io_error) if the
  // path cannot be opened or holds another file that is not empty, the log
  // then going on in the file it had. File I/O happens outside the lock that
  // record() takes: records made meanwhile go to the new file.
  bool reopen();
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
  // The log's head once every record so far is written: the last line's number
  // (counting every line of the file) and hash. Each written batch's head goes to
  // the system journal (systemd::journal_audit_head), at most one a second and
  // the last one at flush: anchors off the host for `okx-vault audit verify --head`.
  audit_chain::Head head();

 private:
  struct Writer;
  std::unique_ptr<Writer> writer_;  // null when disabled
  std::function<std::uint64_t()> generation_;
};

}  // namespace okxvault
