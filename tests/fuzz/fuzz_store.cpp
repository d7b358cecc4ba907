// The store file parser and what trusts it. The input is one byte of Repair
// flags (store_fixture.hpp), then the bytes of a store file.
//
// Invariants: parse fails only with corrupt_store or unsupported_version and
// reads back exactly what serialize writes; the keyed MAC, the slots and the
// records fail only as tampered (or wrong key); and Vault::open accepts a file
// only if its keyed MAC verifies, then lists and reports every record it loaded.

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "daemon/core/vault.hpp"
#include "daemon/store/store.hpp"
#include "tests/fuzz/require.hpp"
#include "tests/fuzz/store_fixture.hpp"
#include "tests/support/process.hpp"

namespace okxvault::fuzz {
namespace {

using Bytes = std::vector<unsigned char>;
constexpr std::size_t kHashBytes = 32;

void require_code(const Error& e, std::initializer_list<Code> allowed, std::string_view what) {
  require(std::find(allowed.begin(), allowed.end(), e.code()) != allowed.end(), what);
}

std::optional<store::Image> try_parse(const Bytes& bytes) {
  try {
    return store::parse(bytes);
  } catch (const Error& e) {
    require_code(e, {Code::corrupt_store, Code::unsupported_version}, "parse fails only as corrupt or unsupported");
    return std::nullopt;
  }
}

std::optional<store::DataKey> try_unwrap(const store::Image& image, const SecretBytes& master_key) {
  try {
    return store::unwrap_with_key_file(image.slots, master_key);
  } catch (const Error& e) {
    require_code(e, {Code::wrong_master_key, Code::corrupt_store}, "a slot fails only as a wrong key");
    return std::nullopt;
  }
}

bool mac_verifies(const Bytes& bytes, const store::DataKey& data_key) {
  try {
    store::verify_mac(bytes, data_key);
    return true;
  } catch (const Error& e) {
    require_code(e, {Code::tampered_store}, "a bad MAC is tampered_store");
    return false;
  }
}

void fix_checksum(Bytes& bytes) {
  if (bytes.size() < 2 * kHashBytes) return;
  const Bytes body(bytes.begin(), bytes.end() - kHashBytes);
  std::array<unsigned char, kHashBytes> sum;
  crypto_generichash(sum.data(), sum.size(), body.data(), body.size(), nullptr, 0);
  std::copy(sum.begin(), sum.end(), bytes.end() - kHashBytes);
}

void check_vault(const Bytes& bytes, const store::Image& image, bool mac_ok, const SecretBytes& master_key) {
  static const test::TempDir dir;
  const auto path = dir / "vault.store";
  test::write_file(path, std::string(bytes.begin(), bytes.end()));
  ::chmod(path.c_str(), 0600);
  std::unique_ptr<Vault> vault;
  try {
    vault = Vault::open(path, master_key);
  } catch (const Error& e) {
    require_code(e,
                 {
                     Code::corrupt_store,
                     Code::unsupported_version,
                     Code::wrong_master_key,
                     Code::tampered_store,
                 },
                 "Vault::open fails only with a store error");
    require(std::string_view(e.what()).starts_with(path.string()), "a store error names the file");
    return;
  }
  require(mac_ok, "Vault::open accepts only a file whose keyed MAC verifies");
  require(vault->size() == image.records.size(), "every record is loaded");
  const Peer root{0, 0, 1, {0}};
  std::set<std::string> names;
  for (const proto::KeyInfo& info : vault->list(Caller{root, true})) {
    names.insert(info.name);
    require(vault->grants(info.name).size() == info.grants, "a listed key's grants are its grants");
  }
  require(names.size() == image.records.size(), "every loaded record is listed");
}

}  // namespace
}  // namespace okxvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace okxvault;
  using namespace okxvault::fuzz;
  if (size == 0) return 0;
  static const SecretBytes master_key = seed_master_key();
  const unsigned char flags = data[0];
  Bytes bytes(data + 1, data + size);

  if (flags & kRepairChecksum) fix_checksum(bytes);
  std::optional<store::Image> image = try_parse(bytes);
  if (!image) return 0;
  std::optional<store::DataKey> data_key = try_unwrap(*image, master_key);
  if (data_key && (flags & kRepairMac)) {
    // serialize writes the MAC, then the checksum over it, after the same body.
    const Bytes repaired = store::serialize(*image, *data_key);
    std::copy(repaired.end() - 2 * kHashBytes, repaired.end(), bytes.end() - 2 * kHashBytes);
  }

  static const store::DataKey any_key = store::DataKey::generate();  // the body does not depend on it
  const Bytes again = store::serialize(*image, data_key ? *data_key : any_key);
  require(again.size() == bytes.size() && std::equal(bytes.begin(), bytes.end() - 2 * kHashBytes, again.begin()),
          "parse reads back exactly what serialize writes");
  if (!data_key) return 0;

  // serialize computes the MAC apart from verify_mac: the two must agree.
  const bool mac_ok = std::equal(again.end() - 2 * kHashBytes, again.end() - kHashBytes, bytes.end() - 2 * kHashBytes);
  require(mac_verifies(bytes, *data_key) == mac_ok, "verify_mac accepts exactly the file's own MAC");
  require(mac_ok || !(flags & kRepairMac), "a repaired MAC verifies");
  for (const store::Record& record : image->records) {
    try {
      const store::KeyMaterial material = store::open_record(*data_key, record);
      require(material.secret.size() + material.passphrase.size() + 4 + 40 == record.sealed.size(),
              "an opened record holds exactly its secret and passphrase");
    } catch (const Error& e) {
      require_code(e, {Code::tampered_store}, "a bad record is tampered_store");
    }
  }
  check_vault(bytes, *image, mac_ok, master_key);
  return 0;
}
