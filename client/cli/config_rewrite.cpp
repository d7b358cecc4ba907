#include "client/cli/config_rewrite.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <span>
#include <string_view>

#include "client/cli/files.hpp"
#include "common/error.hpp"

namespace okxvault::cli {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void fail(const std::string& what, int error) {
  throw Error(Code::io_error, what + ": " + std::strerror(error));
}

std::span<const unsigned char> bytes_of(std::string_view text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

std::string directory_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

ConfigFile read_config_file(const std::string& path) {
  ConfigFile file;
  if (::lstat(path.c_str(), &file.info) != 0) fail("cannot read " + path, errno);
  if (S_ISLNK(file.info.st_mode)) {
    throw Error(Code::bad_request, path + " is a symbolic link: give the file it points to");
  }
  if (!S_ISREG(file.info.st_mode)) throw Error(Code::bad_request, path + " is not a regular file");
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) fail("cannot read " + path, errno);
  constexpr std::size_t kMaxConfig = 16 << 20;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      wipe(buffer, sizeof buffer);
      fail("cannot read " + path, errno);
    }
    if (n == 0) break;
    file.text.append(buffer, static_cast<std::size_t>(n));
    if (file.text.size() > kMaxConfig) {
      wipe(buffer, sizeof buffer);
      throw Error(Code::bad_request, path + " is larger than 16 MiB: not a bot's config");
    }
  }
  wipe(buffer, sizeof buffer);
  return file;
}

void check_config_replaceable(const std::string& path) {
  const std::string backup = path + ".bak";
  struct stat info {};
  if (::lstat(backup.c_str(), &info) == 0) {
    throw Error(Code::bad_request, backup + " exists: move it away first (it may be the only copy of an older config)");
  }
  if (::access(directory_of(path).c_str(), W_OK | X_OK) != 0) {
    fail("cannot write in " + directory_of(path) + " (for " + backup + " and the new " + path + ")", errno);
  }
}

void replace_config_file(const std::string& path, const ConfigFile& original, const std::string& text) {
  NewFile backup(path + ".bak", false, "(move it away first: it may be the only copy of an older config)");
  NewFile next(path, true);
  next.take_mode_and_owner(original.info);
  backup.commit(bytes_of(original.text));
  next.commit(bytes_of(text));
}

}  // namespace okxvault::cli
