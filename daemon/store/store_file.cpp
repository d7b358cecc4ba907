#include "daemon/store/store_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "common/error.hpp"
#include "daemon/store/store.hpp"

namespace okxvault {
namespace {

[[noreturn]] void fail(Code code, const std::filesystem::path& path, const std::string& what) {
  throw Error(code, path.string() + ": " + what);
}

[[noreturn]] void fail_errno(const std::filesystem::path& path, const std::string& what) {
  fail(Code::io_error, path, what + ": " + std::strerror(errno));
}

// Closes the descriptor on every path out of a scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Fd open_private(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) fail_errno(path, "cannot open");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_errno(path, "cannot stat");
  if (!S_ISREG(st.st_mode)) fail(Code::io_error, path, "not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", st.st_mode & 0777);
    fail(Code::insecure_permissions, path,
         std::string("group or others may access this file (mode ") + mode + "); run chmod 600 on it");
  }
  return fd;
}

void write_all(int fd, std::span<const unsigned char> bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(path, "cannot write");
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
}

void fsync_directory(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) fail_errno(dir, "cannot sync directory");
}

std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

// A write killed before its rename leaves its temporary file behind, holding
// records that may since have been revoked: the next write removes it, so that
// a revoke, once acknowledged, is off the disk. The caller is the directory's
// only writer (the daemon holds the state directory's lock).
void remove_stale_temporaries(const std::filesystem::path& path) {
  const std::string prefix = "." + path.filename().string() + ".";
  std::error_code ec, ignored;  // best effort: the write itself has succeeded
  for (std::filesystem::directory_iterator it(directory_of(path), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() == prefix.size() + 6 && name.starts_with(prefix)) std::filesystem::remove(it->path(), ignored);
  }
}

}  // namespace

std::vector<unsigned char> read_private_file(const std::filesystem::path& path, std::size_t limit) {
  Fd fd = open_private(path);
  std::vector<unsigned char> bytes;
  // Grown chunk by chunk, a store of 10,000 keys was copied and page-faulted
  // twice over; the size read now is a hint, the loop still reads to the end.
  if (struct stat st{}; ::fstat(fd.get(), &st) == 0) {
    bytes.reserve(std::min(limit, static_cast<std::size_t>(st.st_size)));
  }
  unsigned char chunk[64 * 1024];
  while (bytes.size() < limit) {
    const ssize_t n = ::read(fd.get(), chunk, std::min(sizeof chunk, limit - bytes.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(path, "cannot read");
    if (n == 0) break;
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  return bytes;
}

void write_file_atomically(const std::filesystem::path& path, std::span<const unsigned char> bytes) {
  const std::filesystem::path dir = directory_of(path);
  std::string temp = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
  Fd fd(::mkostemp(temp.data(), O_CLOEXEC));  // created with mode 0600
  if (fd.get() < 0) fail_errno(temp, "cannot create temporary file");
  try {
    write_all(fd.get(), bytes, temp);
    if (::fsync(fd.get()) != 0) fail_errno(temp, "cannot sync");
    if (::close(fd.release()) != 0) fail_errno(temp, "cannot close");
    if (::rename(temp.c_str(), path.c_str()) != 0) fail_errno(path, "cannot replace");
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  remove_stale_temporaries(path);
  fsync_directory(dir);
}

void check_private_directory(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) fail_errno(dir, "cannot stat");
  if (!S_ISDIR(st.st_mode)) fail(Code::io_error, dir, "not a directory");
  char mode[8];
  std::snprintf(mode, sizeof mode, "%03o", st.st_mode & 0777);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    fail(Code::insecure_permissions, dir,
         std::string("group or others may write to this directory (mode ") + mode +
             "), and so replace the store or the audit log; run chmod 700 on it");
  }
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    fail(Code::insecure_permissions, dir,
         "this directory belongs to uid " + std::to_string(st.st_uid) +
             ", who may change its mode at any time; run chown " + std::to_string(::geteuid()) + " on it");
  }
}

bool keep_reserve(const std::filesystem::path& reserve, std::uintmax_t bytes) noexcept {
  Fd fd(::open(reserve.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  struct stat st {};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (static_cast<std::uintmax_t>(st.st_size) >= bytes) return true;
  // posix_fallocate allocates blocks (writing zeros where the filesystem cannot
  // allocate without), so that a later write into them needs no free space.
  if (::posix_fallocate(fd.get(), 0, static_cast<off_t>(bytes)) != 0) return false;
  return ::fsync(fd.get()) == 0;
}

void write_file_into_reserve(const std::filesystem::path& path, const std::filesystem::path& reserve,
                             std::span<const unsigned char> bytes) {
  Fd fd(::open(reserve.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) fail_errno(reserve, "cannot open reserved space");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_errno(reserve, "cannot stat reserved space");
  if (!S_ISREG(st.st_mode) || static_cast<std::uintmax_t>(st.st_size) < bytes.size()) {
    fail(Code::io_error, reserve, "the reserved space is too small for " + std::to_string(bytes.size()) + " bytes");
  }
  try {
    for (std::size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::pwrite(fd.get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail_errno(reserve, "cannot write into reserved space");
      done += static_cast<std::size_t>(n);
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(bytes.size())) != 0) fail_errno(reserve, "cannot truncate");
    if (::fsync(fd.get()) != 0) fail_errno(reserve, "cannot sync");
    if (::close(fd.release()) != 0) fail_errno(reserve, "cannot close");
    if (::rename(reserve.c_str(), path.c_str()) != 0) fail_errno(path, "cannot replace");
  } catch (...) {
    // It may hold part of a store now, whose records a later revoke must not leave behind.
    ::unlink(reserve.c_str());
    throw;
  }
  remove_stale_temporaries(path);
  fsync_directory(directory_of(path));
}

SecretBytes read_key_file(const std::filesystem::path& path) {
  Fd fd = open_private(path);
  SecretBytes key(store::kMasterKeyBytes);
  // One byte more than a key, to notice a file that is too long.
  SecretBytes buffer(store::kMasterKeyBytes + 1);
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data() + total, buffer.size() - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(path, "cannot read");
    if (n == 0 || (total += static_cast<std::size_t>(n)) == buffer.size()) break;
  }
  if (total != store::kMasterKeyBytes) {
    fail(Code::wrong_master_key, path, "a key file must hold exactly 32 bytes");
  }
  std::memcpy(key.data(), buffer.data(), key.size());
  return key;
}

SecretBytes create_key_file(const std::filesystem::path& path) {
  SecretBytes key = SecretBytes::random(store::kMasterKeyBytes);
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) fail_errno(path, "cannot create key file");
  try {
    write_all(fd.get(), key.bytes(), path);
    if (::fsync(fd.get()) != 0) fail_errno(path, "cannot sync");
  } catch (...) {
    ::unlink(path.c_str());
    throw;
  }
  fsync_directory(directory_of(path));
  return key;
}

}  // namespace okxvault
