#include "daemon/audit/audit.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/error.hpp"
#include "common/timestamp.hpp"
#include "daemon/audit/audit_fields.hpp"
#include "daemon/os/systemd.hpp"
#include "proto/audit_chain.hpp"

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
// Room allocated past the log's end (fallocate, keeping the file's size): when
// less than kLowWater is left, kAhead more is asked for. kLowWater holds the
// largest batch (kMaxPendingBytes and a line) twice over, so that the lines of
// every signature given before a request for room failed still fit.
constexpr off_t kLowWater = off_t{2} << 20;
constexpr off_t kAhead = off_t{4} << 20;
// While the log cannot be written, the backstop tries again this often.
constexpr auto kRetry = std::chrono::milliseconds(100);
// Repeated refusals: how many groups there may be.
constexpr std::size_t kMaxGroups = 256;
constexpr std::size_t kMaxGroupsPerUid = 32;

// Writes what it can of `bytes`; returns how much, with errno in `error` if not all.
std::size_t write_all(int fd, std::string_view bytes, int& error) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  return done;
}

// A line cut short by a crash is ended, so that the next one starts on its own
// and verification names the cut line rather than the first one after it.
void end_cut_line(int fd) {
  const off_t size = ::lseek(fd, 0, SEEK_END);
  char last = '\n';
  int ignored = 0;  // a log that cannot be written is noticed at the first batch
  if (size > 0 && ::pread(fd, &last, 1, size - 1) == 1 && last != '\n') write_all(fd, "\n", ignored);
}

// The lines of an existing log, so that the heads a restart sends go on counting.
std::uint64_t count_lines(int fd) {
  std::uint64_t lines = 0;
  std::array<char, 64 * 1024> buffer;
  const off_t size = ::lseek(fd, 0, SEEK_END);  // a device has none: nothing is read from it
  for (off_t at = 0; at < size;) {
    const ssize_t n =
        ::pread(fd, buffer.data(), static_cast<std::size_t>(std::min<off_t>(size - at, buffer.size())), at);
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

// Refusals that repeat. The first refusal of a (uid, pid, action, key, rule)
// group in a window is written in full and opens the group; the group counts the
// others until the window ends, and they become one summary line. A uid has at
// most kMaxGroupsPerUid groups and the table kMaxGroups: a refusal that gets no
// group of its own, or whose line cannot be kept, is counted in the one mixed
// group, which is summarised likewise. So no peer grows the table, or the log,
// by varying what it asks.
class Repeats {
 public:
  explicit Repeats(std::chrono::milliseconds window) : window_(window) {}

  struct Group {
    uid_t uid = 0;
    gid_t gid = 0;
    pid_t pid = 0;
    std::string exe, action, key, method, path, rule;  // the last refusal counted
    std::string since;                                 // the time of the first
    std::uint64_t count = 0;
    Steady::time_point ends;
  };

  // True if the refusal is to be written in full: it opened a group.
  bool opens(const Peer& peer, const AuditRecord& r, std::string_view time, Steady::time_point now) {
    std::string id = group_id(peer, r);
    if (const auto it = groups_.find(id); it != groups_.end()) {
      count(it->second, peer, r, time);
      return false;
    }
    std::size_t& of_uid = per_uid_[peer.uid];
    if (of_uid >= kMaxGroupsPerUid || groups_.size() >= kMaxGroups) {
      if (of_uid == 0) per_uid_.erase(peer.uid);
      count_mixed(peer, r, time, now);
      return false;
    }
    ++of_uid;
    Group& group = groups_[std::move(id)];
    group.uid = peer.uid;
    group.ends = now + window_;
    return true;
  }

  void count_mixed(const Peer& peer, const AuditRecord& r, std::string_view time, Steady::time_point now) {
    if (mixed_.count == 0) mixed_.ends = now + window_;  // its window opens with its first refusal
    count(mixed_, peer, r, time);
  }

  bool empty() const { return groups_.empty() && mixed_.count == 0; }

  // When the next window ends; max() if none is open.
  Steady::time_point next_end() const {
    Steady::time_point next = mixed_.count > 0 ? mixed_.ends : Steady::time_point::max();
    for (const auto& [id, group] : groups_) next = std::min(next, group.ends);
    return next;
  }

  // Hands `summarise` every group with refusals counted whose window has ended by
  // `now` (every one if `all`), with whether it is the mixed one. Ended groups
  // close; with `all`, the others only start counting again.
  template <typename Summarise>
  void close(Steady::time_point now, bool all, Summarise&& summarise) {
    for (auto it = groups_.begin(); it != groups_.end();) {
      Group& group = it->second;
      const bool ended = group.ends <= now;
      if (group.count > 0 && (ended || all)) {
        summarise(group, false);
        group.count = 0;
      }
      if (!ended) {
        ++it;
        continue;
      }
      if (const auto of_uid = per_uid_.find(group.uid); of_uid != per_uid_.end() && --of_uid->second == 0) {
        per_uid_.erase(of_uid);
      }
      it = groups_.erase(it);
    }
    if (mixed_.count > 0 && (mixed_.ends <= now || all)) {
      summarise(mixed_, true);
      mixed_.count = 0;
    }
  }

 private:
  static std::string group_id(const Peer& peer, const AuditRecord& r) {
    std::string id = std::to_string(peer.uid) + '/' + std::to_string(peer.pid) + '/';
    id.append(r.action).append(1, '\0').append(r.key).append(1, '\0').append(r.rule);
    return id;
  }

  static void count(Group& group, const Peer& peer, const AuditRecord& r, std::string_view time) {
    if (group.count++ == 0) group.since = time;
    group.uid = peer.uid;
    group.gid = peer.gid;
    group.pid = peer.pid;
    group.exe = peer.exe;
    group.action = r.action;
    group.key = r.key;
    group.method = r.method;
    group.path = r.path;
    group.rule = r.rule;
  }

  const std::chrono::milliseconds window_;
  std::unordered_map<std::string, Group> groups_;
  std::unordered_map<uid_t, std::size_t> per_uid_;
  Group mixed_;
};

constexpr std::string_view kGenerationMember = ",\"gen\":";

// The actions whose success writes the store, so that their records carry its generation.
bool writes_store(std::string_view action) {
  static constexpr std::array<std::string_view, 13> kActions{"add",
                                                             "update",
                                                             "revoke",
                                                             "set-grants",
                                                             "lock",
                                                             "auto-lock",
                                                             "set-passphrase",
                                                             "remove-passphrase",
                                                             "rotate-key-file",
                                                             "rekey",
                                                             "accept-rollback",
                                                             "restore",
                                                             "import"};
  return std::find(kActions.begin(), kActions.end(), action) != kActions.end();
}

// The `gen` of a sealed line: its last member before `hash`, digits only.
std::optional<std::uint64_t> generation_of(std::string_view line) {
  const std::optional<audit_chain::Sealed> sealed = audit_chain::parse(line);
  if (!sealed) return std::nullopt;
  const std::string_view body = sealed->body;
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
// chain order. What a write leaves unwritten goes back ahead of the pending lines.
struct Audit::Writer {
  const std::string path;
  int fd;
  std::mutex mutex;
  std::condition_variable wake;                 // the backstop: lines or windows to watch, a failure, or a stop
  std::condition_variable idle;                 // a write ended
  audit_chain::Hash prev;                       // the last line's hash
  std::shared_ptr<const audit_chain::Key> key;  // the audit key, once the vault gave it: lines are keyed from then on
  std::uint64_t lines = 0;                      // in the file and pending
  audit_chain::Head written;                    // the last line written
  Steady::time_point announced_at;
  bool announced = true;  // the written head went to the journal
  std::string pending;    // sealed lines, each ending in a newline
  std::string batch;      // the lines being written; keeps its capacity
  Steady::time_point written_at;
  std::atomic<bool> due{false};  // a line came kGather or more after the last write
  bool writing = false, parked = false, stopping = false;
  Repeats repeats;
  std::string summary;  // a summary's fields, formatted under the lock

  // Whether the log can be written: the last write, and the last request for
  // room, succeeded. Signing checks `unwritable` alone, without the lock.
  std::atomic<bool> unwritable{false};
  bool write_failed = false, no_room = false;
  Steady::time_point tried_at;
  // Only the writing thread: the file's end, and the end of the room allocated
  // for it; false once the filesystem said it cannot allocate ahead.
  off_t end = 0, allocated_end = 0;
  bool can_allocate = true;

  std::thread backstop;

  Writer(const std::filesystem::path& log, std::chrono::milliseconds repeat_window)
      : path(log.string()),
        fd(::open(log.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)),
        repeats(repeat_window) {
    if (fd < 0) throw Error(Code::io_error, path + ": cannot open audit log: " + std::strerror(errno));
    end_cut_line(fd);
    const std::string last = last_hash(fd);
    const std::string_view start = last.empty() ? audit_chain::kGenesis : std::string_view(last);
    std::copy(start.begin(), start.end(), prev.begin());
    lines = count_lines(fd);
    written = {lines, prev};
    end = allocated_end = std::max<off_t>(0, ::lseek(fd, 0, SEEK_END));
    settle(0, make_room());
    backstop = std::thread([this] { watch(); });
  }

  ~Writer() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_one();
    backstop.join();
    if (!pending.empty()) {
      spdlog::error("audit log {}: {} bytes of lines could not be written and are lost", path, pending.size());
    }
    ::close(fd);
  }

  // False if the line was not kept: only a refusal's, when the log cannot be
  // written and the pending lines are at their bound.
  bool append(std::string_view fields, bool keep_always) {
    const auto now = Steady::now();
    std::unique_lock lock(mutex);
    if (pending.size() >= kMaxPendingBytes && !write_failed) write_batch(lock);  // the disk is behind: wait for it
    if (pending.size() >= kMaxPendingBytes && !keep_always) return false;
    const bool was_empty = pending.empty();
    seal(fields);
    if (now - written_at >= kGather && !write_failed) due.store(true, std::memory_order_relaxed);
    if (was_empty && parked) wake.notify_one();
    return true;
  }

  // True if the refusal is to be written in full; else it was counted.
  bool opens_group(const Peer& peer, const AuditRecord& r, std::string_view time) {
    std::lock_guard lock(mutex);
    const bool was_empty = repeats.empty();
    const bool opens = repeats.opens(peer, r, time, Steady::now());
    if (was_empty && parked) wake.notify_one();
    return opens;
  }

  void count_unkept(const Peer& peer, const AuditRecord& r, std::string_view time) {
    std::lock_guard lock(mutex);
    repeats.count_mixed(peer, r, time, Steady::now());
  }

  void seal(std::string_view fields) {
    prev = audit_chain::seal_into(pending, fields, audit_chain::view(prev), key.get());
    pending += '\n';
    ++lines;
  }

  // Seals the summaries of the windows that ended (all, with `all`). Caller
  // holds the lock.
  void close_windows(Steady::time_point now, bool all) {
    std::string time;
    repeats.close(now, all, [&](const Repeats::Group& group, bool mixed) {
      if (time.empty()) time = iso8601_ms(Clock::now());
      const Peer peer{group.uid, group.gid, group.pid, {}, group.exe};
      const AuditRepeats repeated{group.count, group.since, mixed};
      summary.clear();
      append_audit_fields(summary, time, peer, {group.action, group.key, group.method, group.path, false, group.rule},
                          &repeated);
      seal(summary);
    });
  }

  void write_due() {
    if (!due.load(std::memory_order_relaxed)) return;
    std::unique_lock lock(mutex);
    if (writing) return;  // the lines wait for the next due batch or the backstop
    write_batch(lock);
  }

  // Writes every pending line once no other write is under way, and asks for
  // room ahead. Called and returns with the lock held; it is released for the
  // write itself. While the log is unwritable it tries even with nothing to write.
  void write_batch(std::unique_lock<std::mutex>& lock) {
    idle.wait(lock, [&] { return !writing; });
    due.store(false, std::memory_order_relaxed);
    written_at = Steady::now();
    if (pending.empty() && !unwritable.load(std::memory_order_relaxed)) return;
    writing = true;
    batch.swap(pending);
    const audit_chain::Head head{lines, prev};
    lock.unlock();
    int error = 0;
    const std::size_t done = write_all(fd, batch, error);
    end += static_cast<off_t>(done);
    const int room_error = make_room();
    const bool whole = done == batch.size();
    if (whole) announce(head, false);
    lock.lock();
    if (whole) {
      written = head;
    } else {
      pending.insert(0, batch, done);  // before the lines sealed meanwhile
    }
    batch.clear();
    settle(error, room_error);
    writing = false;
    idle.notify_all();
  }

  // Keeps at least kLowWater bytes allocated past the end. 0, or the errno of a
  // request for room that the disk refused. Only the writing thread.
  int make_room() {
    if (!can_allocate || allocated_end - end >= kLowWater) return 0;
    int rc = 0;
    do {
      rc = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, end, kAhead);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) {
      allocated_end = end + kAhead;
      return 0;
    }
    if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG) return errno;
    can_allocate = false;
    spdlog::warn(
        "audit log {}: its filesystem cannot allocate room ahead ({}): a full disk is noticed only when "
        "a write fails",
        path, std::strerror(errno));
    return 0;
  }

  // Records the outcome of a write and of a request for room. Caller holds the lock.
  void settle(int write_error, int room_error) {
    tried_at = Steady::now();
    const bool was = unwritable.load(std::memory_order_relaxed);
    write_failed = write_error != 0;
    no_room = room_error != 0;
    const bool is = write_failed || no_room;
    unwritable.store(is, std::memory_order_relaxed);
    if (is && !was) {
      spdlog::error("audit log {}: {} ({}); signing and WebSocket logins are refused until it can be written", path,
                    write_failed ? "cannot write" : "no room for more lines",
                    std::strerror(write_failed ? write_error : room_error));
    } else if (was && !is) {
      spdlog::info("audit log {}: writable again; signing resumes", path);
    }
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
  // request came to write them, are written by this thread, as are the
  // summaries of windows that end; while the log cannot be written, it tries
  // again every kRetry. It sleeps while there is nothing to do.
  void watch() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      const bool failing = unwritable.load(std::memory_order_relaxed);
      if (pending.empty() && !failing && repeats.empty()) {
        parked = true;
        wake.wait(lock, [&] { return stopping || !pending.empty() || !repeats.empty(); });
        parked = false;
        continue;
      }
      Steady::time_point until = repeats.next_end();
      if (failing) {
        until = std::min(until, tried_at + kRetry);
      } else if (!pending.empty()) {
        until = std::min(until, written_at + kBackstop);
      }
      wake.wait_until(lock, until, [&] { return stopping; });
      if (stopping) break;
      const auto now = Steady::now();
      // A log that cannot take its lines keeps counting: the table is bounded, the lines would not be.
      if (pending.size() < kMaxPendingBytes) close_windows(now, false);
      const bool retry = unwritable.load(std::memory_order_relaxed) && now - tried_at >= kRetry;
      if (retry || (!pending.empty() && now - written_at >= kBackstop)) write_batch(lock);
    }
    write_batch(lock);
  }

  // Audit::reopen, with the reopen-log record's fields.
  bool reopen(std::string_view fields) {
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } next{::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)};
    if (next.fd < 0) throw Error(Code::io_error, path + ": cannot reopen audit log: " + std::strerror(errno));
    struct stat now {
    }, was{};
    if (::fstat(next.fd, &now) != 0 || ::fstat(fd, &was) != 0) {
      throw Error(Code::io_error, path + ": cannot reopen audit log: " + std::strerror(errno));
    }
    if (now.st_dev == was.st_dev && now.st_ino == was.st_ino) return false;
    if (now.st_size != 0) {
      throw Error(Code::io_error, path +
                                      ": not reopened: the file there is not the audit log and is not empty (the log "
                                      "goes on in the file it was moved to); move it away and reopen again");
    }
    if ((now.st_mode & 07777) != 0600 && ::fchmod(next.fd, 0600) != 0) {
      throw Error(Code::io_error, path + ": cannot make the new audit log private: " + std::strerror(errno));
    }
    // From here on this thread is the one that writes (`writing`): the moved
    // file's last lines go to it, then the new file takes its descriptor's
    // place (dup2, so a sync under way elsewhere never finds it closed).
    std::unique_lock lock(mutex);
    idle.wait(lock, [&] { return !writing; });
    writing = true;
    batch.swap(pending);
    const std::uint64_t moved_lines = lines;
    const audit_chain::Head moved{moved_lines, prev};
    seal(fields);  // the new file's first line, unless the moved one's could not all be written
    lock.unlock();
    int error = 0;
    const std::size_t done = write_all(fd, batch, error);
    ::fdatasync(fd);
    const bool whole = done == batch.size();
    if (whole) {
      announce(moved, true);
    } else {
      spdlog::error(
          "audit log {}: the last lines of the moved log could not be written to it ({}); they begin the "
          "new file, which then verifies only with --follows",
          path, std::strerror(error));
    }
    const auto unwritten =
        static_cast<std::uint64_t>(std::count(batch.begin() + static_cast<std::ptrdiff_t>(done), batch.end(), '\n'));
    if (::dup2(next.fd, fd) < 0) {
      const int dup_error = errno;
      lock.lock();
      pending.insert(0, batch, done);
      batch.clear();
      settle(error, 0);
      writing = false;
      idle.notify_all();
      throw Error(Code::io_error, path + ": cannot reopen audit log: " + std::strerror(dup_error));
    }
    end = allocated_end = 0;
    can_allocate = true;
    const int room_error = make_room();
    lock.lock();
    pending.insert(0, batch, done);
    batch.clear();
    lines = lines - moved_lines + unwritten;
    written = {0, moved.hash};
    settle(0, room_error);
    writing = false;
    idle.notify_all();
    due.store(true, std::memory_order_relaxed);
    if (parked) wake.notify_one();
    return true;
  }

  bool flush() {
    std::unique_lock lock(mutex);
    close_windows(Steady::now(), true);
    write_batch(lock);
    const bool written_all = pending.empty() && !write_failed;
    lock.unlock();
    ::fdatasync(fd);
    lock.lock();
    // With no write under way, nobody else touches what announce() keeps: so
    // `writing` is read first, and `announced` only when it is false.
    if (!writing && !announced) announce(written, true);
    return written_all;
  }
};

Audit::Audit(const std::filesystem::path& path, std::chrono::milliseconds repeat_window)
    : writer_(std::make_unique<Writer>(path, repeat_window)) {}

Audit::Audit(Disabled) {}

Audit::~Audit() { flush(); }

void Audit::record(const Peer& peer, const AuditRecord& r) {
  if (!writer_) return;
  const std::string time = iso8601_ms(Clock::now());
  if (!r.allowed && !writer_->opens_group(peer, r, time)) return;
  // Formatted outside the lock, into a buffer each thread keeps.
  thread_local std::string fields;
  fields.clear();
  append_audit_fields(fields, time, peer, r);
  // Read after the write it follows: a generation that is on disk, never one
  // ahead of the store, even when another write came in between.
  if (generation_ && r.allowed && writes_store(r.action)) {
    fields += kGenerationMember;
    fields += std::to_string(generation_());
  }
  if (!writer_->append(fields, r.allowed)) writer_->count_unkept(peer, r, time);
}

void Audit::use_key(SecretBytes key) {
  if (!writer_) return;
  auto shared = std::make_shared<const audit_chain::Key>(std::move(key));  // its HMAC schedule: outside the lock
  std::lock_guard lock(writer_->mutex);
  writer_->key = std::move(shared);
}

audit_chain::Verdict Audit::verify(std::optional<std::string_view> head) {
  if (!writer_) return {};
  writer_->flush();
  std::shared_ptr<const audit_chain::Key> key;
  std::uint64_t lines = 0;
  {
    std::lock_guard lock(writer_->mutex);
    key = writer_->key;
    lines = writer_->written.line;
  }
  std::ifstream in(writer_->path, std::ios::binary);
  if (!in) throw Error(Code::io_error, writer_->path + ": cannot read audit log");
  return audit_chain::verify(in, head, key.get(), lines);
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
    const ssize_t n =
        ::pread(fd, buffer.data(), static_cast<std::size_t>(std::min<off_t>(size - at, buffer.size())), at);
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

bool Audit::reopen() {
  if (!writer_) return false;
  std::string fields;
  append_audit_fields(fields, iso8601_ms(Clock::now()), Peer{::getuid(), ::getgid(), ::getpid(), {}, {}},
                      {audit_chain::kReopenAction, {}, {}, {}, true, "rotated"});
  // The generation goes on in the new file, for the start's rollback check.
  if (generation_) {
    fields += kGenerationMember;
    fields += std::to_string(generation_());
  }
  return writer_->reopen(fields);
}

void Audit::write_due() {
  if (writer_) writer_->write_due();
}

bool Audit::flush() { return writer_ ? writer_->flush() : true; }

bool Audit::writable() const { return !writer_ || !writer_->unwritable.load(std::memory_order_relaxed); }

void Audit::require_writable() const {
  if (writable()) return;
  throw Error(Code::audit_unavailable,
              "the audit log cannot be written (no room on its disk, or a write failed): nothing is signed until it "
              "can; the daemon resumes by itself once there is room");
}

audit_chain::Head Audit::head() {
  if (!writer_) return {};
  writer_->flush();
  std::lock_guard lock(writer_->mutex);
  return writer_->written;
}

}  // namespace okxvault
