#pragma once
// Files the CLI writes and reads for people: a backup, written so that it is
// either wholly there or not at all, and never readable by others.

#include <sys/stat.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace okxvault::cli {

// A file to be written at `path`: a temporary file beside it (mode 0600) is
// created at once, so that a path the CLI cannot write is refused before
// anything else happens, and removed unless commit() moves it into place.
// Without `replace`, an existing file at `path` is refused (Error bad_request,
// ending with `if_exists`, which says what to do), now and again at the rename,
// which never replaces one.
class NewFile {
 public:
  NewFile(std::string path, bool replace, std::string if_exists = {});
  ~NewFile();
  NewFile(const NewFile&) = delete;
  NewFile& operator=(const NewFile&) = delete;

  // Gives the file the mode and owner of `like`, the file it is to replace.
  // Error(io_error) if it cannot.
  void take_mode_and_owner(const struct stat& like);

  // Writes and syncs the bytes, renames the file into place and syncs its
  // directory. Errors: io_error, bad_request (a file appeared at the path).
  void commit(std::span<const unsigned char> bytes);

 private:
  [[noreturn]] void exists() const;

  std::string path_;
  std::string temp_;
  bool replace_;
  std::string if_exists_;
  int fd_ = -1;
};

// The whole file, refused (Error bad_request) if it is larger than `max` bytes.
std::vector<unsigned char> read_file(const std::string& path, std::size_t max);

}  // namespace okxvault::cli
