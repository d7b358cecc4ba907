#include "daemon/audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "daemon/signer.hpp"
#include "proto/audit_chain.hpp"
#include "proto/error.hpp"

namespace okxvault {
namespace {

// Records that arrive while a batch is written wait this long for company.
constexpr auto kGather = std::chrono::milliseconds(1);
// Callers wait once this many records are queued: memory stays bounded.
constexpr std::size_t kMaxQueued = 8192;

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

void write_all(int fd, const std::string& bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // nobody to report it to; the chain shows the gap
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

// The queue and the thread that chains and appends its records.
struct Audit::Writer {
  int fd;
  std::string prev;  // touched only by the writer thread
  std::mutex mutex;
  std::condition_variable wake;    // the writer: records or a stop
  std::condition_variable room;    // callers: the queue has room
  std::condition_variable written; // flush(): a batch was written
  std::vector<std::string> queue;
  std::uint64_t queued = 0, done = 0;
  bool idle = false, stopping = false;
  std::size_t flushing = 0;
  std::thread thread;

  explicit Writer(const std::filesystem::path& path)
      : fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) {
    if (fd < 0) throw Error(Code::io_error, path.string() + ": cannot open audit log: " + std::strerror(errno));
    prev = last_hash(fd);
    if (prev.empty()) prev = audit_chain::kGenesis;
    thread = std::thread([this] { run(); });
  }

  ~Writer() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_one();
    thread.join();
    ::close(fd);
  }

  void push(std::string line) {
    std::unique_lock lock(mutex);
    room.wait(lock, [&] { return queue.size() < kMaxQueued; });
    queue.push_back(std::move(line));
    ++queued;
    if (idle) wake.notify_one();
  }

  void run() {
    std::vector<std::string> batch;
    std::string bytes;
    std::unique_lock lock(mutex);
    for (;;) {
      idle = true;
      wake.wait(lock, [&] { return !queue.empty() || stopping; });
      idle = false;
      if (queue.empty()) return;
      batch.swap(queue);
      lock.unlock();
      room.notify_all();
      bytes.clear();
      for (const std::string& record : batch) {
        std::string line = audit_chain::seal(record, prev);
        prev = audit_chain::hash_of(line);
        bytes += line;
        bytes += '\n';
      }
      write_all(fd, bytes);
      const std::size_t count = batch.size();
      batch.clear();
      lock.lock();
      done += count;
      written.notify_all();
      // Let the next records gather, unless someone waits for them.
      wake.wait_for(lock, kGather, [&] { return stopping || flushing > 0 || queue.size() >= kMaxQueued / 2; });
    }
  }

  void flush() {
    {
      std::unique_lock lock(mutex);
      const std::uint64_t target = queued;
      ++flushing;
      wake.notify_one();
      written.wait(lock, [&] { return done >= target; });
      --flushing;
    }
    ::fdatasync(fd);
  }
};

Audit::Audit(const std::filesystem::path& path) : writer_(std::make_unique<Writer>(path)) {}

Audit::Audit(Disabled) {}

Audit::~Audit() { flush(); }

void Audit::record(const Peer& peer, const AuditRecord& r) {
  if (!writer_) return;
  // Built in a buffer on the stack: no heap allocation per field.
  std::array<unsigned char, 2048> buffer;
  boost::json::monotonic_resource memory(buffer.data(), buffer.size());
  boost::json::object line({{"time", iso8601_ms(Clock::now())},
                           {"uid", peer.uid},
                           {"gid", peer.gid},
                           {"pid", peer.pid},
                           {"exe", peer.exe},
                           {"action", r.action},
                           {"key", r.key},
                           {"method", r.method},
                           {"path", r.path},
                           {"decision", r.allowed ? "allow" : "deny"},
                           {"rule", r.rule}},
                           &memory);
  writer_->push(boost::json::serialize(line));
}

void Audit::flush() {
  if (writer_) writer_->flush();
}

}  // namespace okxvault
