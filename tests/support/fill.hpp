#pragma once
// Filling a filesystem, for the tests of what the daemon does on a full disk.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace okxvault::test {

// Appends to `file` until a write of even one byte fails for want of space.
inline void fill_filesystem(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  const std::string chunk(1 << 16, 'x');
  for (std::size_t size = chunk.size(); size > 0; size /= 2) {
    while (::write(fd, chunk.data(), size) == static_cast<ssize_t>(size)) {
    }
  }
  ::close(fd);
}

}  // namespace okxvault::test
