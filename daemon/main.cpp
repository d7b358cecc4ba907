// okx-vaultd: opens the vault, listens on the Unix socket, and signs for local bots
// until SIGTERM or SIGINT; then stops accepting, finishes in-flight requests,
// wipes every secret and removes its socket.

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <functional>
#include <iostream>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <thread>
#include <vector>

#include "daemon/handler.hpp"
#include "daemon/hardening.hpp"
#include "daemon/options.hpp"
#include "daemon/server.hpp"
#include "daemon/store_file.hpp"
#include "daemon/vault.hpp"
#include "proto/error.hpp"

namespace okxvault {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr auto kShutdownGrace = std::chrono::seconds(10);

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("okx-vaultd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
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

int initialize(const DaemonOptions& options) {
  if (std::filesystem::create_directories(options.state_dir)) {
    std::filesystem::permissions(options.state_dir, std::filesystem::perms::owner_all);
  }
  lock_state_dir(options.state_dir);
  const bool have_key = std::filesystem::exists(options.master_key_file);
  if (std::filesystem::exists(options.store_file())) {
    throw Error(Code::io_error, options.store_file().string() + ": a vault already exists; refusing to replace it");
  }
  const SecretBytes master_key =
      have_key ? read_key_file(options.master_key_file) : create_key_file(options.master_key_file);
  Vault::create(options.store_file(), master_key);
  spdlog::info("initialized an empty vault at {} ({} key file {})", options.store_file().string(),
               have_key ? "existing" : "new", options.master_key_file.string());
  return 0;
}

int serve(const DaemonOptions& options) {
  lock_state_dir(options.state_dir);
  if (!std::filesystem::exists(options.store_file())) {
    throw Error(Code::io_error, options.store_file().string() +
                                    ": no vault here; create one with okx-vaultd --init (same --state-dir)");
  }
  std::unique_ptr<Vault> vault;
  {
    const SecretBytes master_key = read_key_file(options.master_key_file);
    vault = Vault::open(options.store_file(), master_key);
  }
  const Handler handler(*vault, HandlerOptions{options.max_skew, ::geteuid()});

  boost::asio::io_context io(static_cast<int>(options.threads));
  auto server = std::make_shared<Server>(
      io, handler, bind_unix_socket(io, options.socket),
      ServerLimits{options.max_connections, options.idle_timeout, options.request_timeout});
  server->start();
  spdlog::info("okx-vaultd {} serving {} keys on {} with {} threads", proto::kVersion, vault->size(),
               options.socket.string(), options.threads);

  // On SIGTERM/SIGINT: stop accepting, then check every 20 ms until the last
  // connection has closed; connections still busy after the grace period are cut.
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  boost::asio::steady_timer drain(io);
  std::chrono::steady_clock::time_point deadline;
  std::function<void()> wait_for_drain = [&] {
    if (server->connections() == 0) return;
    if (std::chrono::steady_clock::now() >= deadline) return io.stop();
    drain.expires_after(std::chrono::milliseconds(20));
    drain.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) wait_for_drain();
    });
  };
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: finishing in-flight requests and stopping", signal);
    server->stop();
    deadline = std::chrono::steady_clock::now() + kShutdownGrace;
    wait_for_drain();
  });
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < options.threads; ++i) threads.emplace_back([&] { io.run(); });
  io.run();
  for (auto& thread : threads) thread.join();

  std::error_code ec;
  std::filesystem::remove(options.socket, ec);
  spdlog::info("stopped; secrets wiped");
  return 0;
}

}  // namespace
}  // namespace okxvault

int main(int argc, char** argv) {
  using namespace okxvault;
  try {
    harden_process();
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
