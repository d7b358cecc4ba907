#include "daemon/audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "daemon/audit_fields.hpp"
#include "proto/audit_chain.hpp"
#include "proto/error.hpp"
#include "proto/timestamp.hpp"

namespace okxvault {
namespace {

// Records that arrive while a batch is written wait this long for company.
constexpr auto kGather = std::chrono::milliseconds(1);
// Callers wait once this many bytes of records are queued: memory stays bounded.
constexpr std::size_t kMaxQueuedBytes = 1 << 20;

void write_all(int fd, std::string_view bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // nobody to report it to; the chain shows the gap
    done += static_cast<std::size_t>(n);
  }
}

// A line cut short by a crash is ended, so that the next one starts on its own
// and verification names the cut line rather than the first one after it.
void end_cut_line(int fd) {
  const off_t size = ::lseek(fd, 0, SEEK_END);
  char last = '\n';
  if (size > 0 && ::pread(fd, &last, 1, size - 1) == 1 && last != '\n') write_all(fd, "\n");
}

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

// The queue of records and the thread that chains and appends them. A caller
// holds the lock only to copy its record's fields into the queue, a line each
// (JSON text holds no raw newline); the writer thread seals them in queue order,
// so the chain's order is the queue's and no caller waits on another's hash.
struct Audit::Writer {
  int fd;
  std::mutex mutex;
  std::condition_variable wake;     // the writer: records or a stop
  std::condition_variable room;     // callers: the queue has room
  std::condition_variable written;  // flush(): a batch was written
  audit_chain::Hash prev;           // the last line's hash: the writer thread's own
  std::string queue;                // the records' fields, each ending in a newline
  std::uint64_t queued = 0, done = 0;
  bool idle = false, stopping = false;
  std::size_t flushing = 0;
  std::thread thread;

  explicit Writer(const std::filesystem::path& path)
      : fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) {
    if (fd < 0) throw Error(Code::io_error, path.string() + ": cannot open audit log: " + std::strerror(errno));
    end_cut_line(fd);
    const std::string last = last_hash(fd);
    const std::string_view start = last.empty() ? audit_chain::kGenesis : std::string_view(last);
    std::copy(start.begin(), start.end(), prev.begin());
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

  void push(std::string_view fields) {
    std::unique_lock lock(mutex);
    room.wait(lock, [&] { return queue.size() < kMaxQueuedBytes; });
    queue += fields;
    queue += '\n';
    ++queued;
    if (idle) wake.notify_one();
  }

  void run() {
    std::string batch, lines;  // each keeps its capacity for the next batch
    std::unique_lock lock(mutex);
    for (;;) {
      idle = true;
      wake.wait(lock, [&] { return !queue.empty() || stopping; });
      idle = false;
      if (queue.empty()) return;
      batch.swap(queue);
      const std::uint64_t in_batch = queued;
      lock.unlock();
      room.notify_all();
      lines.clear();
      seal(batch, lines);
      write_all(fd, lines);
      batch.clear();
      lock.lock();
      done = in_batch;
      written.notify_all();
      // Let the next records gather, unless someone waits for them.
      wake.wait_for(lock, kGather, [&] { return stopping || flushing > 0 || queue.size() >= kMaxQueuedBytes / 2; });
    }
  }

  // Chains each record of `batch` into a line of `lines`.
  void seal(std::string_view batch, std::string& lines) {
    for (std::size_t at = 0; at < batch.size();) {
      const std::size_t end = batch.find('\n', at);
      prev = audit_chain::seal_into(lines, batch.substr(at, end - at), audit_chain::view(prev));
      lines += '\n';
      at = end + 1;
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
  // Formatted outside the lock, into a buffer each thread keeps.
  thread_local std::string fields;
  fields.clear();
  append_audit_fields(fields, iso8601_ms(Clock::now()), peer, r);
  writer_->push(fields);
}

void Audit::flush() {
  if (writer_) writer_->flush();
}

}  // namespace okxvault
