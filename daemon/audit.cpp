#include "daemon/audit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "daemon/audit_fields.hpp"
#include "daemon/systemd.hpp"
#include "proto/audit_chain.hpp"
#include "proto/error.hpp"
#include "proto/timestamp.hpp"

namespace okxvault {
namespace {

using Steady = std::chrono::steady_clock;
// A line waits up to this long for others to share its write()...
constexpr auto kGather = std::chrono::milliseconds(1);
// ...and, when no request comes to write it, this long for the backstop thread.
constexpr auto kBackstop = std::chrono::milliseconds(5);
// Past this many bytes of pending lines, the caller writes them before adding its
// own: memory stays bounded, and a slow disk slows the callers rather than losing lines.
constexpr std::size_t kMaxPendingBytes = 1 << 20;

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

// The lines of an existing log, so that the heads a restart sends go on counting.
std::uint64_t count_lines(int fd) {
  std::uint64_t lines = 0;
  std::array<char, 64 * 1024> buffer;
  const off_t size = ::lseek(fd, 0, SEEK_END);  // a device has none: nothing is read from it
  for (off_t at = 0; at < size;) {
    const ssize_t n = ::pread(fd, buffer.data(), static_cast<std::size_t>(std::min<off_t>(size - at, buffer.size())), at);
    if (n <= 0) return lines;
    lines += static_cast<std::uint64_t>(std::count(buffer.begin(), buffer.begin() + n, '\n'));
    at += n;
  }
  return lines;
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

constexpr std::string_view kGenerationMember = ",\"gen\":";
constexpr std::string_view kHashMember = ",\"hash\":\"";

// The actions whose success writes the store, so that their records carry its generation.
bool writes_store(std::string_view action) {
  static constexpr std::array<std::string_view, 10> kActions{
      "add",         "revoke",          "set-grants", "lock", "auto-lock", "set-passphrase", "remove-passphrase",
      "rotate-key-file", "rekey", "accept-rollback"};
  return std::find(kActions.begin(), kActions.end(), action) != kActions.end();
}

// The `gen` of a sealed line: its last member before `hash`, digits only.
std::optional<std::uint64_t> generation_of(std::string_view line) {
  if (audit_chain::hash_of(line).empty()) return std::nullopt;
  const std::string_view body = line.substr(0, line.rfind(kHashMember));
  const std::size_t at = body.rfind(kGenerationMember);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view digits = body.substr(at + kGenerationMember.size());
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) return std::nullopt;
  return value;
}

}  // namespace

// The chain and the lines not yet in the file. A caller seals its record under
// the lock (the chain's order is the lock's), and the lines go out a batch at a
// time, one write() each, by whichever thread finds a batch due: an I/O thread
// after its reply (write_due), a caller when the batch is full, flush(), or the
// backstop thread when the daemon went quiet with lines still held. So a busy
// daemon pays neither a system call nor a thread wake-up per sign, and no bot
// waits for the disk. One thread writes at a time, so batches reach the file in
// chain order.
struct Audit::Writer {
  int fd;
  std::mutex mutex;
  std::condition_variable wake;  // the backstop: lines to watch, or a stop
  std::condition_variable idle;  // a write ended
  audit_chain::Hash prev;        // the last line's hash
  std::uint64_t lines = 0;       // in the file and pending
  audit_chain::Head written;     // the last line written
  Steady::time_point announced_at;
  bool announced = true;         // the written head went to the journal
  std::string pending;           // sealed lines, each ending in a newline
  std::string batch;             // the lines being written; keeps its capacity
  Steady::time_point written_at;
  std::atomic<bool> due{false};  // a line came kGather or more after the last write
  bool writing = false, parked = false, stopping = false;
  std::thread backstop;

  explicit Writer(const std::filesystem::path& path)
      : fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) {
    if (fd < 0) throw Error(Code::io_error, path.string() + ": cannot open audit log: " + std::strerror(errno));
    end_cut_line(fd);
    const std::string last = last_hash(fd);
    const std::string_view start = last.empty() ? audit_chain::kGenesis : std::string_view(last);
    std::copy(start.begin(), start.end(), prev.begin());
    lines = count_lines(fd);
    written = {lines, prev};
    backstop = std::thread([this] { watch(); });
  }

  ~Writer() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_one();
    backstop.join();
    ::close(fd);
  }

  void append(std::string_view fields) {
    const auto now = Steady::now();
    std::unique_lock lock(mutex);
    if (pending.size() >= kMaxPendingBytes) write_batch(lock);  // the disk is behind: wait for it
    const bool was_empty = pending.empty();
    prev = audit_chain::seal_into(pending, fields, audit_chain::view(prev));
    pending += '\n';
    ++lines;
    if (now - written_at >= kGather) due.store(true, std::memory_order_relaxed);
    if (was_empty && parked) wake.notify_one();
  }

  void write_due() {
    if (!due.load(std::memory_order_relaxed)) return;
    std::unique_lock lock(mutex);
    if (writing) return;  // the lines wait for the next due batch or the backstop
    write_batch(lock);
  }

  // Writes every pending line once no other write is under way. Called and
  // returns with the lock held; it is released for the write itself.
  void write_batch(std::unique_lock<std::mutex>& lock) {
    idle.wait(lock, [&] { return !writing; });
    due.store(false, std::memory_order_relaxed);
    written_at = Steady::now();
    if (pending.empty()) return;
    writing = true;
    batch.swap(pending);
    const audit_chain::Head head{lines, prev};
    lock.unlock();
    write_all(fd, batch);
    batch.clear();
    announce(head, false);
    lock.lock();
    written = head;
    writing = false;
    idle.notify_all();
  }

  // Sends a written batch's head to the journal: at most one a second (a busy
  // daemon writes a batch a millisecond), and the last one at flush. Called by
  // the one writing thread, or with no write under way.
  void announce(const audit_chain::Head& head, bool now) {
    const auto at = Steady::now();
    if (!now && at - announced_at < std::chrono::seconds(1)) {
      announced = false;
      return;
    }
    systemd::journal_audit_head(head.line, audit_chain::view(head.hash));
    announced_at = at;
    announced = true;
  }

  // The backstop: lines still pending kBackstop after the last write, when no
  // request came to write them, are written by this thread. It sleeps while
  // nothing is pending.
  void watch() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (pending.empty()) {
        parked = true;
        wake.wait(lock, [&] { return stopping || !pending.empty(); });
        parked = false;
        continue;
      }
      wake.wait_for(lock, kBackstop, [&] { return stopping; });
      if (Steady::now() - written_at >= kBackstop) write_batch(lock);
    }
    write_batch(lock);
  }

  void flush() {
    std::unique_lock lock(mutex);
    write_batch(lock);
    lock.unlock();
    ::fdatasync(fd);
    lock.lock();
    // With no write under way, nobody else touches what announce() keeps.
    if (!announced && !writing) announce(written, true);
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
  // Read after the write it follows: a generation that is on disk, never one
  // ahead of the store, even when another write came in between.
  if (generation_ && r.allowed && writes_store(r.action)) {
    fields += kGenerationMember;
    fields += std::to_string(generation_());
  }
  writer_->append(fields);
}

void Audit::set_store_generation(std::function<std::uint64_t()> generation) { generation_ = std::move(generation); }

bool Audit::holds(const std::filesystem::path& path, std::uint64_t line, std::string_view hash) {
  if (line == 0) return true;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    throw Error(Code::io_error, path.string() + ": cannot read audit log: " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const off_t size = ::lseek(fd, 0, SEEK_END);
  std::array<char, 64 * 1024> buffer;
  std::uint64_t seen = 0;  // newlines before `at`
  std::string wanted;      // the bytes of line `line` read so far
  for (off_t at = 0; at < size;) {
    const ssize_t n = ::pread(fd, buffer.data(), static_cast<std::size_t>(std::min<off_t>(size - at, buffer.size())), at);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[static_cast<std::size_t>(i)] == '\n') {
        if (++seen == line) return audit_chain::hash_of(wanted) == hash;
      } else if (seen + 1 == line) {
        wanted += buffer[static_cast<std::size_t>(i)];
      }
    }
    at += n;
  }
  return false;
}

std::optional<std::uint64_t> Audit::last_generation(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw Error(Code::io_error, path.string() + ": cannot read audit log: " + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // Chunks from the end; `carry` is the start of the chunk after, up to its first
  // newline: the rest of a line that began in this chunk.
  constexpr off_t kChunk = 64 * 1024;
  std::string carry;
  for (off_t end = ::lseek(fd, 0, SEEK_END); end > 0;) {
    const off_t start = std::max<off_t>(0, end - kChunk);
    std::string text(static_cast<std::size_t>(end - start), '\0');
    if (::pread(fd, text.data(), text.size(), start) != static_cast<ssize_t>(text.size())) {
      throw Error(Code::io_error, path.string() + ": cannot read audit log: " + std::strerror(errno));
    }
    text += carry;
    // Whole lines, last first; the first one is whole only at the file's start.
    std::size_t line_end = text.size();
    for (std::size_t nl = text.rfind('\n', line_end == 0 ? 0 : line_end - 1);; nl = text.rfind('\n', nl - 1)) {
      if (nl == std::string::npos) break;
      if (nl + 1 < line_end) {
        if (const auto gen = generation_of(std::string_view(text).substr(nl + 1, line_end - nl - 1))) return gen;
      }
      line_end = nl;
      if (nl == 0) break;
    }
    if (start == 0) return line_end == 0 ? std::nullopt : generation_of(std::string_view(text).substr(0, line_end));
    carry = text.substr(0, line_end);
    end = start;
  }
  return std::nullopt;
}

void Audit::write_due() {
  if (writer_) writer_->write_due();
}

void Audit::flush() {
  if (writer_) writer_->flush();
}

audit_chain::Head Audit::head() {
  if (!writer_) return {};
  writer_->flush();
  std::lock_guard lock(writer_->mutex);
  return writer_->written;
}

}  // namespace okxvault
