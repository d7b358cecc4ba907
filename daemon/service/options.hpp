#pragma once
// okx-vaultd's command line and config file (Boost.ProgramOptions). A value on
// the command line wins over the same key in the --config file.

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "daemon/store/store.hpp"
#include "proto/backup.hpp"

namespace okxvault {

struct DaemonOptions {
  std::filesystem::path socket;
  std::filesystem::path admin_socket;  // empty: admin calls on `socket`
  std::filesystem::path state_dir;
  std::filesystem::path master_key_file;
  std::filesystem::path audit_log;
  std::string admin_group;   // empty: none
  std::string socket_group;  // empty: leave the socket's group as created
  bool init = false;
  bool passphrase = false;                  // --init: a vault only a passphrase opens
  std::chrono::seconds auto_lock_after{0};  // 0: never
  store::PassphraseCost passphrase_cost = store::kDefaultPassphraseCost;
  // Backups' Argon2id: proto::kTestBackupCost with --passphrase-cost test.
  proto::BackupCost backup_cost = proto::kBackupCost;
  bool audit = true;              // off only for the benchmark (hidden --benchmark-without-audit)
  bool accept_rollback = false;   // start on a store older than the audit log says, and audit it
  bool master_key_given = false;  // --master-key-file was set, so a credential does not override it
  unsigned threads = 1;
  std::string log_level = "info";
  std::chrono::milliseconds max_skew{30'000};
  std::size_t max_connections = 1024;
  std::size_t max_connections_per_uid = 64;  // admins are exempt
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds usage_save_interval{60'000};

  std::filesystem::path store_file() const { return state_dir / "vault.store"; }
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Returns nullopt when --help or --version was answered. Throws UsageError.
std::optional<DaemonOptions> parse_options(int argc, const char* const argv[]);

// The CPUs this process may run on (taskset, systemd's CPUAffinity=), not all the
// machine's: more I/O threads than that only take turns on the same CPUs. The
// default number of I/O threads.
unsigned usable_cpus();

}  // namespace okxvault
