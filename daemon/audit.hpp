#pragma once
// The audit log: one hash-chained JSON line (proto/audit_chain.hpp) per decision:
// time, peer uid/gid/pid/exe, action, key, method, path, decision, rule. Records
// are formatted by the caller and written by a background thread (spdlog's async
// logger, blocking rather than dropping when its queue is full), so the signing
// path never waits for the disk. Never given secrets, passphrases or signatures.
// Thread-safe.

#include <filesystem>
#include <memory>
#include <string_view>

#include "daemon/peer.hpp"

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

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
  ~Audit();  // writes everything still queued
  Audit(const Audit&) = delete;
  Audit& operator=(const Audit&) = delete;

  void record(const Peer& peer, const AuditRecord& record);
  // Blocks until every record so far is written (tests, shutdown).
  void flush();

 private:
  class Sink;
  std::shared_ptr<Sink> sink_;
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace okxvault
