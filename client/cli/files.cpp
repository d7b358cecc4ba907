#include "client/cli/files.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"

namespace okxvault::cli {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int error) {
  throw Error(Code::io_error, path + ": " + what + ": " + std::strerror(error));
}

std::string directory_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

NewFile::NewFile(std::string path, bool replace, std::string if_exists)
    : path_(std::move(path)), replace_(replace), if_exists_(std::move(if_exists)) {
  struct stat info {};
  if (!replace_ && ::lstat(path_.c_str(), &info) == 0) exists();
  const std::filesystem::path target(path_);
  temp_ = (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
  fd_ = ::mkstemp(temp_.data());  // mode 0600
  if (fd_ < 0) fail(directory_of(path_), "cannot create a file there", errno);
}

NewFile::~NewFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void NewFile::exists() const {
  throw Error(Code::bad_request, path_ + " exists; nothing was written" + (if_exists_.empty() ? "" : " " + if_exists_));
}

void NewFile::take_mode_and_owner(const struct stat& like) {
  if (::fchmod(fd_, like.st_mode & 07777) != 0) fail(temp_, "cannot set its mode", errno);
  if ((like.st_uid != ::geteuid() || like.st_gid != ::getegid()) && ::fchown(fd_, like.st_uid, like.st_gid) != 0) {
    fail(temp_, "cannot give it the owner of " + path_, errno);
  }
}

void NewFile::commit(std::span<const unsigned char> bytes) {
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(temp_, "cannot write", errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd_) != 0) fail(temp_, "cannot sync", errno);
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) fail(temp_, "cannot write", errno);
  if (replace_) {
    if (::rename(temp_.c_str(), path_.c_str()) != 0) fail(path_, "cannot replace", errno);
  } else if (::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) exists();
    // A file system without RENAME_NOREPLACE: a hard link never replaces either.
    if (errno != EINVAL && errno != ENOSYS) fail(path_, "cannot create", errno);
    if (::link(temp_.c_str(), path_.c_str()) != 0) {
      if (errno == EEXIST) exists();
      fail(path_, "cannot create", errno);
    }
    ::unlink(temp_.c_str());
  }
  temp_.clear();
  const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dir >= 0 && ::fsync(dir) == 0;
  const int error = errno;
  if (dir >= 0) ::close(dir);
  if (!synced) fail(directory_of(path_), "cannot sync the directory", error);
}

std::vector<unsigned char> read_file(const std::string& path, std::size_t max) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    throw Error(error == ENOENT ? Code::not_found : Code::io_error, path + ": cannot read: " + std::strerror(error));
  }
  std::vector<unsigned char> bytes;
  unsigned char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      throw Error(Code::io_error, path + ": cannot read: " + std::strerror(error));
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buffer, buffer + n);
    if (bytes.size() > max) {
      ::close(fd);
      throw Error(Code::bad_request, path + " is larger than " + std::to_string(max) + " bytes");
    }
  }
  ::close(fd);
  return bytes;
}

}  // namespace okxvault::cli
