// Writes the seed corpus of the store fuzzer: store files made by the real
// Vault under the fixed seed master key, each prefixed with its Repair flags.
// Usage: fuzz_make_store_seeds DIR (then commit DIR's files as corpus/store).

#include <cstdio>
#include <string>

#include "daemon/core/vault.hpp"
#include "daemon/store/store_file.hpp"
#include "proto/messages.hpp"
#include "tests/fuzz/store_fixture.hpp"
#include "tests/support/process.hpp"

namespace okxvault::fuzz {
namespace {

std::string add_body(int i) {
  const std::string n = std::to_string(i);
  return R"({"name":"key-)" + n + R"(","api_key":"ak-)" + n + R"(-0123456789abcdef","secret":"secret-)" + n +
         R"(-QWERTYUIOP","passphrase":"pass-)" + n + R"(",)" +
         (i % 3 ? "" : R"("expires":"2030-01-01T00:00:00.000Z",)") + R"("simulated":)" + (i % 2 ? "true}" : "false}");
}

std::vector<Grant> grants(int i) {
  Grant bot{Grant::Kind::user, static_cast<std::uint32_t>(1000 + i), "bot" + std::to_string(i)};
  bot.allow.push_back(Rule::parse("GET /api/v5/account/"));
  bot.deny.push_back(Rule::parse("* /api/v5/account/bills"));
  Grant group{Grant::Kind::group, 2000, "bots", true, 4102444800000};
  group.ws = false;
  return {bot, group};
}

// `edit` changes the file the way someone without the data key could: a record's
// metadata edited in place, the unkeyed checksum then repaired (by the flags).
void write_seed(const std::filesystem::path& file, unsigned char flags, int keys, bool edit = false) {
  test::TempDir dir;
  auto vault = Vault::create(dir / "vault.store", seed_master_key());
  for (int i = 0; i < keys; ++i) {
    const std::string name = "key-" + std::to_string(i);
    vault->add(proto::decode_add_key(add_body(i)));
    if (i % 2 == 0) vault->set_grants(name, grants(i));
  }
  const std::vector<unsigned char> bytes = read_private_file(dir / "vault.store");
  std::string text(bytes.begin(), bytes.end());
  if (edit) text.replace(text.find(R"("sign_count":0)"), 14, R"("sign_count":9)");
  test::write_file(file, std::string(1, static_cast<char>(flags)) + text);
}

}  // namespace
}  // namespace okxvault::fuzz

int main(int argc, char** argv) {
  using namespace okxvault::fuzz;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  write_seed(dir / "empty", 0, 0);
  write_seed(dir / "one-key", 0, 1);
  write_seed(dir / "one-key-repaired", kRepairChecksum | kRepairMac, 1);
  write_seed(dir / "ten-keys-repaired", kRepairChecksum | kRepairMac, 10);
  write_seed(dir / "one-key-edited", kRepairChecksum, 1, true);
  return 0;
}
