#include "tests/bench/bench_store.hpp"

#include <sodium.h>

#include <cstdio>

#include "daemon/store/store.hpp"
#include "daemon/store/store_file.hpp"

namespace okxvault::bench {

std::string key_name(unsigned long index) {
  char name[16];
  std::snprintf(name, sizeof name, "k%05lu", index);
  return name;
}

void write_store(const std::filesystem::path& state_dir, unsigned long keys) {
  std::filesystem::create_directories(state_dir);
  std::filesystem::permissions(state_dir, std::filesystem::perms::owner_all);
  const SecretBytes master_key = create_key_file(state_dir / "master.key");
  const store::DataKey data_key = store::DataKey::generate();
  store::Image image{{store::wrap_with_key_file(data_key, master_key)}, {}};
  // As `okx-vaultd --init` makes it: with its audit key, so that the first start writes nothing.
  image.audit_key = store::seal_audit_key(data_key, SecretBytes::random(store::kAuditKeyBytes));
  const std::string metadata =
      R"({"simulated":false,"created_ms":1767225600000,"expires_ms":null,"last_used_ms":0,"sign_count":0,"grants":[]})";
  for (unsigned long i = 0; i < keys; ++i) {
    // Printable text, as OKX secrets are (32 hex characters).
    const SecretBytes raw = SecretBytes::random(16);
    SecretBytes hex(33);
    sodium_bin2hex(reinterpret_cast<char*>(hex.data()), hex.size(), raw.data(), raw.size());
    const std::string name = key_name(i);
    image.records.push_back(store::seal_record(data_key, name, "ak-" + name + "-0123456789", metadata,
                                               SecretBytes::copy_of(hex.bytes().first(32)),
                                               SecretBytes::copy_of("Bench#Pass-1")));
  }
  write_file_atomically(state_dir / "vault.store", store::serialize(image, data_key));
}

}  // namespace okxvault::bench
