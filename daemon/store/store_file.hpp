#pragma once
// The files the vault keeps on disk: the store and its master key file.
// Writes replace a file atomically and durably (temp file in the same directory,
// fsync, rename, fsync of the directory), so a crash leaves the old or the new
// file, never a mix; a temporary file a crash left behind is removed by the next
// write. Reads refuse files that group or others may read.
// Errors are Error(io_error / insecure_permissions / wrong_master_key) whose
// message names the file.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <vector>

#include "common/secret.hpp"

namespace okxvault {

// The file's bytes, or its first `limit` bytes if it is longer.
std::vector<unsigned char> read_private_file(const std::filesystem::path& path,
                                             std::size_t limit = std::numeric_limits<std::size_t>::max());
void write_file_atomically(const std::filesystem::path& path, std::span<const unsigned char> bytes);

// Refuses (insecure_permissions, naming the fix) a state directory that group or
// others may write to, or that belongs to another user than this one or root.
void check_private_directory(const std::filesystem::path& dir);

// Space kept for a file's write when the disk is full: `reserve` is a file
// (mode 0600) of allocated zeros, at least `bytes` long. Best effort: false if
// the space could not be had (the file then keeps what it had).
bool keep_reserve(const std::filesystem::path& reserve, std::uintmax_t bytes) noexcept;
// Replaces `path` with `bytes` as write_file_atomically does, but writes them
// into the reserve, whose blocks are already allocated, and renames it over
// `path`: a write that needs no free space. The reserve is gone afterwards.
// Errors: io_error, also when there is no reserve or it is too small.
void write_file_into_reserve(const std::filesystem::path& path, const std::filesystem::path& reserve,
                             std::span<const unsigned char> bytes);

// The 32-byte master key: read it, or create a new random one (mode 0600,
// never replacing an existing file).
SecretBytes read_key_file(const std::filesystem::path& path);
SecretBytes create_key_file(const std::filesystem::path& path);

}  // namespace okxvault
