#include "daemon/service/options.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "proto/messages.hpp"

namespace okxvault {
namespace po = boost::program_options;

namespace {

// Why a config file cannot be read, in words that say what to fix. A permission
// problem names the user the daemon runs as (under systemd, the unit's User=),
// since the file is usually fine for root and not for it.
std::string unreadable_config(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  const int error = fd < 0 ? errno : 0;
  if (fd >= 0) ::close(fd);
  std::string message = "cannot read config file " + path;
  if (error == 0) return message;
  message += ": ";
  message += std::strerror(error);
  if (error == EACCES || error == EPERM) {
    const uid_t uid = ::geteuid();
    const passwd* user = ::getpwuid(uid);
    message += ": okx-vaultd runs as user " + (user != nullptr ? std::string(user->pw_name) : std::string("?")) +
               " (uid " + std::to_string(uid) +
               "), which may not read the file or search a directory above it (for the service: "
               "/etc/okx-vault root:okx-vault 0750, the file 0640 or 0644; see README.md, \"Install as a service\")";
  }
  return message;
}

}  // namespace

unsigned usable_cpus() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<unsigned>(std::max(1, CPU_COUNT(&set)));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::optional<DaemonOptions> parse_options(int argc, const char* const argv[]) {
  DaemonOptions o;
  std::string config;
  unsigned threads = 0;
  std::int64_t max_skew_ms = 0, idle_ms = 0, request_ms = 0, auto_lock_s = 0;
  std::string passphrase_cost;

  po::options_description cli("Command line only");
  cli.add_options()("help,h", "show this help and exit")("version", "show the version and exit")(
      "config", po::value(&config), "read options from this file (key = value lines)")(
      "init", po::bool_switch(&o.init), "create a new empty vault (and a key file if there is none), then exit")(
      "passphrase", po::bool_switch(&o.passphrase),
      "with --init: a vault only a passphrase opens (asked without echo, or one line of stdin); it starts locked")(
      "accept-rollback", po::bool_switch(&o.accept_rollback),
      "start even if vault.store is older than the audit log says (restored from a backup); audited");

  po::options_description common("Options (command line or config file)");
  common.add_options()("socket", po::value(&o.socket)->default_value(std::string(proto::kDefaultSocket)),
                       "Unix socket to listen on (mode 0660)")(
      "admin-socket", po::value(&o.admin_socket),
      "separate admin-only socket (mode 0600, or 0660 with --admin-group as its group); admin calls are then refused "
      "on --socket")("state-dir", po::value(&o.state_dir)->default_value("/var/lib/okx-vault"),
                     "directory holding vault.store")("master-key-file", po::value(&o.master_key_file),
                                                      "32-byte master key file (default: STATE-DIR/master.key)")(
      "audit-log", po::value(&o.audit_log), "hash-chained JSON lines audit log (default: STATE-DIR/audit.log)")(
      "admin-group", po::value(&o.admin_group), "members of this group are admins, besides root and the daemon's user")(
      "socket-group", po::value(&o.socket_group), "group owning the socket (mode 0660): the users who may connect")(
      "threads", po::value(&threads)->default_value(0), "I/O threads (0: one per CPU it may run on)")(
      "log-level", po::value(&o.log_level)->default_value("info"),
      "trace, debug, info, warn, error or off")("max-skew-ms", po::value(&max_skew_ms)->default_value(30'000),
                                                "refuse client timestamps further than this from now")(
      "max-connections", po::value(&o.max_connections)->default_value(1024),
      "open connections at most")("max-connections-per-uid", po::value(&o.max_connections_per_uid)->default_value(64),
                                  "open connections of one user at most (admins are exempt)")(
      "idle-timeout-ms", po::value(&idle_ms)->default_value(60'000),
      "close a connection idle this long between requests")("request-timeout-ms",
                                                            po::value(&request_ms)->default_value(10'000),
                                                            "time to receive a whole request once it started")(
      "auto-lock-after", po::value(&auto_lock_s)->default_value(0),
      "lock the vault after this many seconds without a sign or ws-login (0: never)");

  // Not in --help: the tests' cheap Argon2id cost (a real vault keeps the
  // default), and the benchmark's daemon without an audit log, to measure its cost.
  bool without_audit = false;
  po::options_description hidden;
  hidden.add_options()("passphrase-cost", po::value(&passphrase_cost)->default_value("default"), "default or test")(
      "benchmark-without-audit", po::bool_switch(&without_audit), "record no audit log");

  po::options_description all;
  all.add(cli).add(common);
  po::options_description parsed;
  parsed.add(all).add(hidden);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, parsed), vm);
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file) throw UsageError(unreadable_config(path));
      po::store(po::parse_config_file(file, common), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }

  if (vm.count("help")) {
    std::cout << "Usage: okx-vaultd [options]\n\nThe okx-vault daemon: keeps OKX V5 API keys encrypted at rest and "
                 "signs requests for local bots over a Unix socket.\n\n"
              << all << '\n';
    return std::nullopt;
  }
  if (vm.count("version")) {
    std::cout << "okx-vaultd " << proto::kVersion << '\n';
    return std::nullopt;
  }

  o.master_key_given = !o.master_key_file.empty();
  if (o.master_key_file.empty()) o.master_key_file = o.state_dir / "master.key";
  if (o.audit_log.empty()) o.audit_log = o.state_dir / "audit.log";
  o.threads = threads != 0 ? threads : usable_cpus();
  if (max_skew_ms <= 0) throw UsageError("--max-skew-ms must be positive");
  if (idle_ms <= 0 || request_ms <= 0) throw UsageError("timeouts must be positive");
  if (o.max_connections == 0) throw UsageError("--max-connections must be positive");
  if (o.max_connections_per_uid == 0) throw UsageError("--max-connections-per-uid must be positive");
  if (o.passphrase && !o.init)
    throw UsageError("--passphrase goes with --init (unlock a running vault with okx-vault unlock)");
  if (auto_lock_s < 0) throw UsageError("--auto-lock-after must not be negative");
  o.auto_lock_after = std::chrono::seconds(auto_lock_s);
  if (passphrase_cost == "test") {
    o.passphrase_cost = store::kTestPassphraseCost;
    o.backup_cost = proto::kTestBackupCost;
  } else if (passphrase_cost != "default") {
    throw UsageError("--passphrase-cost must be default or test");
  }
  o.audit = !without_audit;
  o.max_skew = std::chrono::milliseconds(max_skew_ms);
  o.idle_timeout = std::chrono::milliseconds(idle_ms);
  o.request_timeout = std::chrono::milliseconds(request_ms);
  return o;
}

}  // namespace okxvault
