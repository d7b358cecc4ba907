// okx-vaultd: opens the vault, listens on the Unix socket, and signs for local bots
// until SIGTERM or SIGINT; then stops accepting, finishes in-flight requests,
// wipes every secret and removes its socket.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/terminal.hpp"
#include "daemon/api/handler.hpp"
#include "daemon/audit/audit.hpp"
#include "daemon/core/loader.hpp"
#include "daemon/core/vault.hpp"
#include "daemon/net/event_loops.hpp"
#include "daemon/net/server.hpp"
#include "daemon/os/accounts.hpp"
#include "daemon/os/hardening.hpp"
#include "daemon/os/signals.hpp"
#include "daemon/os/systemd.hpp"
#include "daemon/service/options.hpp"
#include "daemon/store/store_file.hpp"

namespace okxvault {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr auto kShutdownGrace = std::chrono::seconds(10);
// The name under which systemd passes the master key (LoadCredential[Encrypted]=).
constexpr std::string_view kMasterKeyCredential = "okx-vault.key";

// "<3>" for an error and so on: the sd-daemon(3) prefix by which journald reads
// the level of a line written to stderr.
class JournalPriority final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr std::array<std::string_view, 7> kPrefix{"<7>", "<7>", "<6>", "<4>", "<3>", "<2>", "<6>"};
    const std::string_view prefix = kPrefix[static_cast<std::size_t>(msg.level)];
    dest.append(prefix.data(), prefix.data() + prefix.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JournalPriority>(); }
};

// Logs go to stderr. Under journald (JOURNAL_STREAM set) each line starts with
// its priority and the journal adds the time; elsewhere lines carry UTC times.
void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("okx-vaultd");
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JournalPriority>('*');
  formatter->set_pattern(std::getenv("JOURNAL_STREAM") != nullptr ? "%*%v" : "%Y-%m-%dT%H:%M:%S.%eZ %l %v");
  logger->set_formatter(std::move(formatter));
  const auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") throw UsageError("unknown --log-level " + level);
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
}

// One daemon per state directory: a second one would overwrite the first's writes.
int lock_state_dir(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw Error(Code::io_error, path.string() + ": cannot open lock file");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    throw Error(Code::io_error, dir.string() + ": another okx-vaultd is using this state directory");
  }
  return fd;  // held until exit
}

// Each connection is a descriptor: allow as many as the hard limit permits.
void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::optional<gid_t> group_id(const std::string& name, const char* option) {
  if (name.empty()) return std::nullopt;
  gid_t gid = 0;
  std::string canonical;
  if (!lookup_group(name, gid, canonical)) throw UsageError(std::string(option) + ": no such group: " + name);
  return gid;
}

// Last-used times and sign counts reach the disk in the background, not per sign.
void save_usage_every(boost::asio::steady_timer& timer, std::chrono::milliseconds interval, Vault& vault) {
  timer.expires_after(interval);
  timer.async_wait([&timer, interval, &vault](const boost::system::error_code& ec) {
    if (ec) return;
    try {
      vault.save_usage();
    } catch (const std::exception& e) {
      spdlog::error("saving usage counters failed: {}", e.what());
    }
    save_usage_every(timer, interval, vault);
  });
}

// The sockets to serve: those systemd passed, else the ones we bind. When an
// admin socket exists, admin calls are accepted only there.
struct Listener {
  Server::Acceptor acceptor;
  Channel channel;
  std::filesystem::path bound;  // a socket file we created and remove at exit
};

std::vector<Listener> open_listeners(boost::asio::io_context& io, const DaemonOptions& options,
                                     const std::vector<systemd::ListenSocket>& activated) {
  std::vector<Listener> listeners;
  if (!activated.empty()) {
    const bool has_admin = std::any_of(activated.begin(), activated.end(), [](auto& s) { return s.name == "admin"; });
    for (const auto& socket : activated) {
      listeners.push_back({Server::Acceptor(io, boost::asio::local::stream_protocol(), socket.fd),
                           Channel{!has_admin || socket.name == "admin"},
                           {}});
      spdlog::info("listening on socket-activated descriptor {} ({}{})", socket.fd, socket.name,
                   listeners.back().channel.admin ? ", admin" : "");
    }
    return listeners;
  }
  const bool separate_admin = !options.admin_socket.empty();
  listeners.push_back({bind_unix_socket(io, options.socket, 0660, group_id(options.socket_group, "--socket-group")),
                       Channel{!separate_admin}, options.socket});
  if (separate_admin) {
    // The members of --admin-group are admins, so they may connect: the socket is
    // then theirs too (mode 0660), as okx-vault-admin.socket is.
    const auto admin_group = group_id(options.admin_group, "--admin-group");
    listeners.push_back({bind_unix_socket(io, options.admin_socket, admin_group ? 0660 : 0600, admin_group),
                         Channel{true}, options.admin_socket});
  }
  for (const auto& listener : listeners) {
    spdlog::info("listening on {}{}", listener.bound.string(), listener.channel.admin ? " (admin)" : "");
  }
  return listeners;
}

// The separate admin socket, if there is one: the one systemd passed as
// "admin" (empty if its path cannot be read), else --admin-socket.
std::filesystem::path admin_socket_path(const DaemonOptions& options,
                                        const std::vector<systemd::ListenSocket>& activated) {
  if (activated.empty()) return options.admin_socket;
  for (const auto& socket : activated) {
    if (socket.name != "admin") continue;
    sockaddr_un address{};
    socklen_t size = sizeof address;
    if (::getsockname(socket.fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return {};
    return std::string(address.sun_path, ::strnlen(address.sun_path, sizeof address.sun_path));
  }
  return {};
}

// The master key: the service credential if systemd passed one (and no
// --master-key-file was given), else the key file.
std::filesystem::path master_key_path(const DaemonOptions& options) {
  if (!options.master_key_given) {
    if (auto credential = systemd::credential(kMasterKeyCredential)) return *credential;
  }
  return options.master_key_file;
}

int initialize(const DaemonOptions& options) {
  if (std::filesystem::create_directories(options.state_dir)) {
    std::filesystem::permissions(options.state_dir, std::filesystem::perms::owner_all);
  }
  check_private_directory(options.state_dir);
  lock_state_dir(options.state_dir);
  if (options.passphrase) {
    if (std::filesystem::exists(options.store_file())) {
      throw Error(Code::io_error, options.store_file().string() + ": a vault already exists; refusing to replace it");
    }
    const SecretBytes passphrase = read_new_secret_line("Vault passphrase: ", "vault passphrase");
    Vault::create_with_passphrase(options.store_file(), passphrase, options.passphrase_cost);
    spdlog::info("initialized an empty vault at {} that only its passphrase opens; it starts locked",
                 options.store_file().string());
    return 0;
  }
  const std::filesystem::path key_path = master_key_path(options);
  const bool have_key = std::filesystem::exists(key_path);
  if (std::filesystem::exists(options.store_file())) {
    throw Error(Code::io_error, options.store_file().string() + ": a vault already exists; refusing to replace it");
  }
  const SecretBytes master_key = have_key ? read_key_file(key_path) : create_key_file(key_path);
  Vault::create(options.store_file(), master_key);
  spdlog::info("initialized an empty vault at {} ({} key file {})", options.store_file().string(),
               have_key ? "existing" : "new", key_path.string());
  return 0;
}

// A store with a key-file slot whose key file is present opens unlocked; one
// that a passphrase opens starts locked (an admin unlocks it over the socket).
std::unique_ptr<Vault> open_vault(const std::filesystem::path& store, const std::filesystem::path& key_path) {
  const auto slots = Vault::slots_of(store);
  const bool passphrase = std::find(slots.begin(), slots.end(), "passphrase") != slots.end();
  if (passphrase && (slots.size() == 1 || !std::filesystem::exists(key_path))) {
    if (slots.size() > 1) spdlog::warn("no key file at {}: starting locked", key_path.string());
    spdlog::warn("the vault is locked: an admin unlocks it with okx-vault unlock");
    return Vault::open_locked(store);
  }
  const SecretBytes master_key = read_key_file(key_path);
  return Vault::open(store, master_key);
}

// A store older than the last generation the audit log recorded was put back in
// place of the current one (a restored backup, a copy): keys revoked and grants
// removed since would come back. Refused, leaving both files as they are, unless
// the admin accepts it. Returns the generation recorded, if the store is older.
std::optional<std::uint64_t> check_generation(const DaemonOptions& options, std::uint64_t generation) {
  if (!options.audit) return std::nullopt;
  const std::optional<std::uint64_t> recorded = Audit::last_generation(options.audit_log);
  if (!recorded || generation >= *recorded) return std::nullopt;
  // Read before the checksum was: a damaged file is named as such, not as a rollback.
  generation = Vault::open_locked(options.store_file())->generation();
  if (generation >= *recorded) return std::nullopt;
  if (!options.accept_rollback) {
    throw Error(Code::rollback,
                options.store_file().string() + ": rollback: store generation " + std::to_string(generation) +
                    " is older than generation " + std::to_string(*recorded) + " recorded in " +
                    options.audit_log.string() +
                    ": the store was replaced by an older copy, which may bring back revoked keys and removed "
                    "grants. Both files are left as they are; to start from this store anyway, start okx-vaultd "
                    "with --accept-rollback (it is audited)");
  }
  return recorded;
}

// The store records the audit log's head at each write: a log without that line
// had lines cut off its end, or was rewritten. Refused like a rollback, leaving
// both files as they are, unless the admin accepts it; returns what was accepted.
std::optional<std::string> check_audit_anchor(const DaemonOptions& options, const Vault& vault) {
  const Vault::AuditAnchor anchor = vault.audit_anchor();
  if (!options.audit || Audit::holds(options.audit_log, anchor.line, anchor.hash)) return std::nullopt;
  const std::string missing = "audit log without line " + std::to_string(anchor.line) + " " + anchor.hash;
  if (!options.accept_rollback) {
    throw Error(Code::rollback,
                options.audit_log.string() + ": rollback: the audit log has no line " + std::to_string(anchor.line) +
                    " with the hash " + anchor.hash + " that " + options.store_file().string() +
                    " recorded at its last write: lines were cut off its end, or it was rewritten (or it was "
                    "rotated while the vault was locked, and that line is in the moved file: check it with okx-vault "
                    "audit verify MOVED-FILE --head HASH). Both files are left as they are; to start anyway, start "
                    "okx-vaultd with --accept-rollback (it is audited)");
  }
  return missing;
}

// Locks the vault once nothing was signed for `idle`; checks a few times per period.
void lock_when_idle(boost::asio::steady_timer& timer, std::chrono::seconds idle, Vault& vault, Audit& audit) {
  timer.expires_after(
      std::min<std::chrono::milliseconds>(std::chrono::milliseconds(idle) / 4, std::chrono::seconds(5)));
  timer.async_wait([&timer, idle, &vault, &audit](const boost::system::error_code& ec) {
    if (ec) return;
    try {
      if (vault.lock_if_idle(idle)) {
        audit.record(Peer{::getuid(), ::getgid(), ::getpid()}, {"auto-lock", {}, {}, {}, true, {}});
        spdlog::info("vault locked after {} s without a sign; secrets wiped", idle.count());
      }
    } catch (const std::exception& e) {
      spdlog::error("auto-lock: the vault is locked, but saving usage counters failed: {}", e.what());
    }
    lock_when_idle(timer, idle, vault, audit);
  });
}

// SIGHUP: the audit log goes on at its path if it was moved aside (logrotate),
// and the store records the new file's head, so that a restart finds it there.
// On the background thread: the store write syncs.
void reopen_audit_log(Audit& audit, Vault& vault) {
  try {
    if (!audit.reopen()) {
      spdlog::info("SIGHUP: the audit log was not moved; it goes on in the same file");
      return;
    }
    vault.anchor_audit_head();
    spdlog::info("SIGHUP: audit log reopened; it goes on in a new file that continues the moved one's chain{}",
                 vault.locked() ? ". The vault is locked: the store records the new file's head at its next write "
                                  "(after unlock); a restart before that is refused as a rollback"
                                : "");
  } catch (const std::exception& e) {
    spdlog::error("SIGHUP: {}", e.what());
  }
}

// WATCHDOG=1 from the I/O loop itself, so a wedged loop stops the pings.
void ping_watchdog_every(boost::asio::steady_timer& timer, std::chrono::microseconds period) {
  timer.expires_after(period);
  timer.async_wait([&timer, period](const boost::system::error_code& ec) {
    if (ec) return;
    systemd::notify("WATCHDOG=1");
    ping_watchdog_every(timer, period);
  });
}

int serve(const DaemonOptions& options) {
  block_handled_signals();                     // before the first thread; the main loop unblocks them
  check_private_directory(options.state_dir);  // before anything in it is trusted
  lock_state_dir(options.state_dir);
  if (!std::filesystem::exists(options.store_file())) {
    throw Error(Code::io_error, options.store_file().string() +
                                    ": no vault here; create one with okx-vaultd --init (same --state-dir)");
  }
  const std::filesystem::path key_path = master_key_path(options);
  // Checked before anything is opened for writing, then again on what the MAC
  // authenticated (a locked vault checks it again at unlock).
  check_generation(options, Vault::generation_of(options.store_file()));
  std::unique_ptr<Vault> vault = open_vault(options.store_file(), key_path);
  const std::optional<std::uint64_t> rolled_back_from = check_generation(options, vault->generation());
  const std::optional<std::string> audit_cut = check_audit_anchor(options, *vault);
  Audit audit = options.audit ? Audit(options.audit_log) : Audit(Audit::Disabled{});
  if (!options.audit) spdlog::warn("the audit log is off (--benchmark-without-audit): for benchmarks only");
  audit.set_store_generation([&vault] { return vault->generation(); });
  if (options.audit) {
    // Synced before the store records it, so that a crash never leaves a store
    // whose anchor the log lacks.
    vault->set_audit_head([&audit] {
      const audit_chain::Head head = audit.head();
      return Vault::AuditAnchor{head.line, std::string(audit_chain::view(head.hash))};
    });
  }
  key_audit_log(*vault, audit);
  if (audit_cut) {
    audit.record(Peer{::getuid(), ::getgid(), ::getpid()}, {"accept-rollback", {}, {}, {}, true, *audit_cut});
    vault->rewrite();  // anchors the log as it is now (a locked vault does at its first write)
    spdlog::warn("--accept-rollback: starting with {} ({}; audited)", options.audit_log.string(), *audit_cut);
  }
  if (rolled_back_from) {
    const std::string change =
        "generation " + std::to_string(*rolled_back_from) + " to " + std::to_string(vault->generation());
    audit.record(Peer{::getuid(), ::getgid(), ::getpid()}, {"accept-rollback", {}, {}, {}, true, change});
    audit.flush();
    spdlog::warn("--accept-rollback: starting from {} rolled back from {} (audited)", options.store_file().string(),
                 change);
  }
  const std::vector<systemd::ListenSocket> activated = systemd::activated_sockets();
  const Handler handler(*vault, audit,
                        HandlerOptions{options.max_skew, ::geteuid(), group_id(options.admin_group, "--admin-group"),
                                       key_path, key_path != options.master_key_file, options.passphrase_cost,
                                       admin_socket_path(options, activated), options.backup_cost});

  EventLoops loops(options.threads);
  boost::asio::io_context& io = loops.main();
  // Before the first socket exists: a SIGTERM that arrives once a client can
  // connect must stop the daemon cleanly (socket removed, secrets wiped), not
  // kill it. Until the main loop runs, the signal stays pending (blocked);
  // Asio keeps one that comes before async_wait for it.
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  std::vector<std::shared_ptr<Server>> servers;
  std::vector<std::filesystem::path> bound;
  for (Listener& listener : open_listeners(io, options, activated)) {
    servers.push_back(std::make_shared<Server>(loops, handler, std::move(listener.acceptor),
                                               ServerLimits{options.max_connections, options.max_connections_per_uid,
                                                            options.idle_timeout, options.request_timeout},
                                               listener.channel));
    servers.back()->start();
    if (!listener.bound.empty()) bound.push_back(listener.bound);
  }
  // The periodic saves and the auto-lock write the store (fsync): they run on a
  // thread of their own, so that no connection waits behind them on its loop.
  boost::asio::io_context background;
  boost::asio::steady_timer usage_timer(background);
  save_usage_every(usage_timer, options.usage_save_interval, *vault);
  boost::asio::steady_timer auto_lock(background);
  if (options.auto_lock_after.count() > 0) lock_when_idle(auto_lock, options.auto_lock_after, *vault, audit);
  const auto stop_background = [&] {
    boost::asio::post(background, [&] {
      usage_timer.cancel();
      auto_lock.cancel();
    });
  };
  std::thread background_thread([&background] { run_loop(background); });
  // An exception out of here must not leave the thread running on what unwinds.
  struct JoinOnExit {
    boost::asio::io_context& io;
    std::thread& thread;
    ~JoinOnExit() {
      io.stop();
      if (thread.joinable()) thread.join();
    }
  } join_background{background, background_thread};
  boost::asio::signal_set hangup(io, SIGHUP);
  std::function<void()> await_hangup = [&] {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      boost::asio::post(background, [&] { reopen_audit_log(audit, *vault); });
      await_hangup();
    });
  };
  await_hangup();
  // The watchdog runs on the main loop, like the signal handler that stops it.
  const auto timers = io.get_executor();
  spdlog::info("okx-vaultd {} serving {} keys with {} threads{}", proto::kVersion, vault->size(), options.threads,
               vault->locked() ? "; the vault is locked" : "");
  systemd::notify("READY=1\nSTATUS=serving " + std::to_string(vault->size()) + " keys" +
                  (vault->locked() ? " (locked)" : ""));
  boost::asio::steady_timer watchdog(timers);
  if (const auto period = systemd::watchdog_period()) ping_watchdog_every(watchdog, *period / 2);

  // On SIGTERM/SIGINT: stop accepting, then check every 20 ms until the last
  // connection has closed; connections still open after the grace period are cut.
  // The loops end when their work does.
  boost::asio::steady_timer drain(io);
  std::chrono::steady_clock::time_point deadline;
  const auto connections = [&] {
    std::size_t n = 0;
    for (const auto& server : servers) n += server->connections();
    return n;
  };
  std::function<void()> wait_for_drain = [&] {
    if (connections() == 0) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      for (const auto& server : servers) server->abort();
    }
    drain.expires_after(std::chrono::milliseconds(20));
    drain.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) wait_for_drain();
    });
  };
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: finishing in-flight requests and stopping", signal);
    systemd::notify("STOPPING=1\nSTATUS=stopping");
    stop_background();
    hangup.cancel();
    boost::asio::post(timers, [&] { watchdog.cancel(); });
    for (const auto& server : servers) server->stop();
    deadline = std::chrono::steady_clock::now() + kShutdownGrace;
    wait_for_drain();
  });
  // The first handler on the main loop, which runs once every other loop's
  // thread exists: from here on only this thread takes the stop signals.
  boost::asio::post(io, [] { unblock_handled_signals(); });
  loops.run();
  stop_background();
  background_thread.join();

  vault->save_usage();
  vault->anchor_audit_head();  // writes the log's last lines first
  audit.flush();
  if (options.audit) {
    const audit_chain::Head head = audit.head();
    spdlog::info("audit log head: {}", systemd::audit_head_fields(head.line, audit_chain::view(head.hash)));
  }
  vault.reset();  // wipes every secret
  for (const auto& path : bound) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  spdlog::info("stopped; secrets wiped");
  return 0;
}

}  // namespace
}  // namespace okxvault

int main(int argc, char** argv) {
  using namespace okxvault;
  try {
    harden_process();
    bound_retained_memory();
    const auto options = parse_options(argc, argv);
    if (!options) return 0;
    setup_logging(options->log_level);
    raise_fd_limit();
    return options->init ? initialize(*options) : serve(*options);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "okx-vaultd: %s (see --help)\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitFailure;
  }
}
