#include "daemon/core/loader.hpp"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>
#include <system_error>
#include <thread>

#include "common/error.hpp"
#include "common/secret_pool.hpp"
#include "daemon/store/store_file.hpp"

namespace okxvault {
namespace {

// Below this, a second thread costs more than it saves.
constexpr std::size_t kRecordsWorthAThread = 256;
// Small enough that neither thread idles long at the end, large enough that
// taking one is rare.
constexpr std::size_t kRecordsPerChunk = 64;

// A failure in a file read without its checksum is reported as corruption if
// the checksum says so, as a read with it would have (store::verify_checksum).
void verify_checksum(const std::filesystem::path& path, std::span<const unsigned char> bytes) {
  try {
    store::verify_checksum(bytes);
  } catch (const Error& e) {
    throw Error(e.code(), path.string() + ": " + e.what());
  }
}

}  // namespace

void release_freed_memory() { ::malloc_trim(0); }

void bound_retained_memory() {
  constexpr int kThreshold = 256 * 1024;
  // A sanitizer's allocator ignores these; nothing else depends on them.
  ::mallopt(M_MMAP_THRESHOLD, kThreshold);
  ::mallopt(M_TRIM_THRESHOLD, kThreshold);
}

LoadedStore load_store(const std::filesystem::path& path, const Unwrap* unwrap, std::uint64_t min_generation) {
  const std::vector<unsigned char> bytes = read_private_file(path);
  try {
    if (unwrap == nullptr) store::verify_checksum(bytes);
    store::ImageView image = store::parse_unchecked(bytes);
    std::optional<store::DataKey> data_key;
    if (unwrap != nullptr) data_key.emplace((*unwrap)(image.slots));
    // Opening a record makes and drops secrets of sizes that no kept secret may
    // share: without the batch, their slab would be mapped and unmapped per record.
    const SecretPool::Batch batch(SecretPool::global());
    // Opening a record (its key schedule, decryption and metadata) is most of a
    // start with many keys: two threads take records in chunks, in file order,
    // until none are left or one fails. Taking chunks keeps both busy to the end
    // whatever else runs on the machine. The first record missing is then the
    // first that failed, which is raised. With the data key, the whole file is
    // hashed twice first, once per thread: the MAC proves nothing was forged, and
    // the checksum still refuses damage that spares every byte the MAC covers.
    const std::size_t count = image.records.size();
    std::vector<std::unique_ptr<KeyEntry>> entries(count);
    std::vector<std::exception_ptr> errors((count + kRecordsPerChunk - 1) / kRecordsPerChunk);
    std::atomic<std::size_t> next_chunk{0};
    std::atomic<bool> failed{false};
    const auto open_records = [&] {
      for (std::size_t chunk; !failed && (chunk = next_chunk.fetch_add(1)) < errors.size();) {
        try {
          for (std::size_t i = chunk * kRecordsPerChunk; i < std::min(count, (chunk + 1) * kRecordsPerChunk); ++i) {
            entries[i] = KeyEntry::open(image.records[i], data_key ? &*data_key : nullptr);
          }
        } catch (...) {
          errors[chunk] = std::current_exception();
          failed = true;
        }
      }
    };
    std::exception_ptr mac_error, checksum_error;
    const auto check_mac = [&] {
      try {
        if (data_key) store::verify_mac(bytes, *data_key);
      } catch (...) {
        mac_error = std::current_exception();
      }
    };
    const auto check_checksum = [&] {
      try {
        if (data_key) store::verify_checksum(bytes);
      } catch (...) {
        checksum_error = std::current_exception();
      }
    };
    std::thread helper;
    if (count >= kRecordsWorthAThread) {
      try {
        helper = std::thread([&] {
          check_mac();
          open_records();
        });
      } catch (const std::system_error&) {  // no thread to be had: this one does it all
      }
    }
    if (!helper.joinable()) check_mac();
    check_checksum();
    open_records();
    if (helper.joinable()) helper.join();
    if (checksum_error) std::rethrow_exception(checksum_error);
    KeyTable table;
    table.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      if (!entries[i]) std::rethrow_exception(errors[i / kRecordsPerChunk]);
      const std::string name = entries[i]->record.name;
      if (!table.emplace(name, std::move(entries[i])).second) {
        throw Error(Code::tampered_store, "record '" + name + "' appears twice");
      }
    }
    if (mac_error) std::rethrow_exception(mac_error);
    if (data_key && !image.audit_key.empty()) store::open_audit_key(*data_key, image.audit_key);
    if (image.generation < min_generation) {
      throw Error(Code::rollback,
                  "rollback: store generation " + std::to_string(image.generation) + " is older than generation " +
                      std::to_string(min_generation) +
                      ", which this daemon read or wrote before: the store was replaced by an older copy; "
                      "to accept that copy, restart okx-vaultd with --accept-rollback");
    }
    return LoadedStore{image.generation,       image.audit_line,           std::move(image.audit_hash),
                       std::move(image.slots), std::move(image.audit_key), std::move(table),
                       std::move(data_key)};
  } catch (const Error& e) {
    if (unwrap != nullptr) verify_checksum(path, bytes);
    if (e.code() == Code::wrong_passphrase) throw;
    throw Error(e.code(), path.string() + ": " + e.what());
  }
}

store::Header read_store_header(const std::filesystem::path& store_path) {
  // The slots come first and are small: reading the beginning of the file spares
  // a start a read of all of it, which the vault then reads again anyway.
  constexpr std::size_t kSlotsReadFirst = 16 * 1024;
  for (std::size_t limit = kSlotsReadFirst;; limit = std::numeric_limits<std::size_t>::max()) {
    const std::vector<unsigned char> bytes = read_private_file(store_path, limit);
    try {
      return store::parse_header_unchecked(bytes);
    } catch (const Error& e) {
      if (bytes.size() == limit) continue;  // the slots may go on past what was read
      verify_checksum(store_path, bytes);
      throw Error(e.code(), store_path.string() + ": " + e.what());
    }
  }
}

}  // namespace okxvault
