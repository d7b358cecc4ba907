#include "daemon/audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <spdlog/async.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "daemon/signer.hpp"
#include "proto/audit_chain.hpp"
#include "proto/error.hpp"

namespace okxvault {
namespace {

// The last chained line of an existing log, so a restart continues its chain.
std::string last_hash(int fd) {
  const off_t size = ::lseek(fd, 0, SEEK_END);
  const off_t start = std::max<off_t>(0, size - 64 * 1024);
  std::string tail(static_cast<std::size_t>(size - start), '\0');
  if (::pread(fd, tail.data(), tail.size(), start) != static_cast<ssize_t>(tail.size())) return {};
  std::size_t end = tail.rfind('\n');
  while (end != std::string::npos && end > 0) {
    const std::size_t begin = tail.rfind('\n', end - 1);
    const std::size_t from = begin == std::string::npos ? 0 : begin + 1;
    std::string hash = audit_chain::hash_of(std::string_view(tail).substr(from, end - from));
    if (!hash.empty()) return hash;
    if (begin == std::string::npos) break;
    end = begin;
  }
  return {};
}

}  // namespace

// Chains each line to the one before and appends it to the file. Called only from
// the async logger's single worker thread, under base_sink's mutex.
class Audit::Sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit Sink(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) {
    if (fd_ < 0) throw Error(Code::io_error, path.string() + ": cannot open audit log: " + std::strerror(errno));
    prev_ = last_hash(fd_);
    if (prev_.empty()) prev_ = audit_chain::kGenesis;
  }
  ~Sink() override { ::close(fd_); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string line = audit_chain::seal(std::string_view(msg.payload.data(), msg.payload.size()), prev_);
    prev_ = audit_chain::hash_of(line);
    line += '\n';
    for (std::size_t done = 0; done < line.size();) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;  // spdlog has no way to report it; the chain shows the gap
      done += static_cast<std::size_t>(n);
    }
  }
  void flush_() override {
    ::fdatasync(fd_);
    {
      std::lock_guard lock(flushed_mutex_);
      ++flushes_;
    }
    flushed_.notify_all();
  }

 public:
  // Waits until a flush requested after `seen` flushes has run: the worker runs
  // flushes in queue order, so every record logged before it is then written.
  std::uint64_t flushes() {
    std::lock_guard lock(flushed_mutex_);
    return flushes_;
  }
  void wait_past(std::uint64_t seen) {
    std::unique_lock lock(flushed_mutex_);
    flushed_.wait(lock, [&] { return flushes_ > seen; });
  }

 private:
  int fd_;
  std::string prev_;
  std::mutex flushed_mutex_;
  std::condition_variable flushed_;
  std::uint64_t flushes_ = 0;
};

Audit::Audit(const std::filesystem::path& path)
    : sink_(std::make_shared<Sink>(path)), pool_(std::make_shared<spdlog::details::thread_pool>(8192, 1)) {
  // The logger holds the pool only weakly; pool_ keeps it alive.
  logger_ = std::make_shared<spdlog::async_logger>("audit", sink_, pool_, spdlog::async_overflow_policy::block);
  logger_->set_level(spdlog::level::info);
}

Audit::~Audit() { flush(); }

void Audit::record(const Peer& peer, const AuditRecord& r) {
  boost::json::object line{{"time", iso8601_ms(Clock::now())},
                           {"uid", peer.uid},
                           {"gid", peer.gid},
                           {"pid", peer.pid},
                           {"exe", peer.exe},
                           {"action", r.action},
                           {"key", r.key},
                           {"method", r.method},
                           {"path", r.path},
                           {"decision", r.allowed ? "allow" : "deny"},
                           {"rule", r.rule}};
  logger_->info(boost::json::serialize(line));
}

void Audit::flush() {
  const std::uint64_t seen = sink_->flushes();
  logger_->flush();  // queued behind every record logged so far
  sink_->wait_past(seen);
}

}  // namespace okxvault
