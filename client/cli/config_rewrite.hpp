#pragma once
// Reading a bot's config file that holds a secret, and replacing it with a
// version that does not, keeping the original as a private backup
// (okx-vault import-config --rewrite).

#include <sys/stat.h>
#include <string>

#include "common/secret.hpp"

namespace okxvault::cli {

// The bytes of the regular file at `path` (not through a symlink: Error
// bad_request), in memory wiped as it is freed, and its lstat.
struct ConfigFile {
  WipingString text;
  struct stat info {};
};
ConfigFile read_config_file(const std::string& path);

// Checks, before anything is changed, that replace_config_file can do its
// work: no PATH.bak yet, and a directory it may write. Error otherwise.
void check_config_replaceable(const std::string& path);

// Writes `original` to PATH.bak (created, mode 0600, synced), then `text` to a
// temporary file beside PATH with PATH's mode and owner, synced, renamed over
// PATH, and the directory synced: PATH is at every instant the old file or the
// new one. Error(io_error) naming what failed; PATH is then unchanged.
void replace_config_file(const std::string& path, const ConfigFile& original, const std::string& text);

}  // namespace okxvault::cli
