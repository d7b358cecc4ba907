#include "proto/audit_chain.hpp"

#include <nettle/sha2.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <cstring>

#include "common/secret.hpp"

namespace okxvault::audit_chain {
namespace {

constexpr std::string_view kPrevPrefix = "{\"prev\":\"";
constexpr std::string_view kFormat2 = ",\"v\":2";  // after `prev`
constexpr std::string_view kHashMarker = ",\"hash\":\"";
constexpr std::string_view kMacMarker = "\",\"mac\":\"";
constexpr std::string_view kEnd = "\"}";
constexpr std::size_t kHexLength = std::tuple_size_v<Hash>;

// The two lower-case hex digits of each byte value.
constexpr std::array<char, 512> kHexPairs = [] {
  constexpr std::string_view digits = "0123456789abcdef";
  std::array<char, 512> pairs{};
  for (std::size_t byte = 0; byte < 256; ++byte) {
    pairs[2 * byte] = digits[byte >> 4];
    pairs[2 * byte + 1] = digits[byte & 15];
  }
  return pairs;
}();

// Writes the 64 hex digits of a 32-byte digest at `hex`. Hashes are public:
// their hex needs no constant-time encoder (sodium_bin2hex costs a third of a
// hash), and a digit pair per byte from a table costs a third of Boost's hex_lower.
void write_hex(const unsigned char* digest, char* hex) {
  for (std::size_t i = 0; i < kHexLength / 2; ++i) {
    std::memcpy(hex + 2 * i, &kHexPairs[2 * std::size_t{digest[i]}], 2);
  }
}

// The hex of a line's hash and of its mac (each writes 64 digits at `hex`).
// Format 2: SHA-256 with Nettle, which uses the CPU's SHA instructions where it
// has them, and HMAC-SHA-256 of the hash.
void sha256_hex(std::string_view bytes, char* hex) {
  sha256_ctx state;
  sha256_init(&state);
  sha256_update(&state, bytes.size(), reinterpret_cast<const std::uint8_t*>(bytes.data()));
  std::array<unsigned char, SHA256_DIGEST_SIZE> digest;
  sha256_digest(&state, digest.size(), digest.data());
  write_hex(digest.data(), hex);
}
void hmac_hex(std::string_view hash, const Key& key, char* hex) { write_hex(key.hmac().mac({hash}).data(), hex); }

// Format 1: BLAKE2b-256, keyed with the audit key itself for the mac.
void blake2b_hex(std::string_view bytes, const SecretBytes* key, char* hex) {
  ensure_sodium();
  std::array<unsigned char, kHexLength / 2> digest;
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                     key ? key->data() : nullptr, key ? key->size() : 0);
  write_hex(digest.data(), hex);
}

// Whether a line's body (as parse() gives it, long enough for its `prev`) is of
// format 2: `"v":2` is its member right after `prev`.
bool is_format2(std::string_view body) {
  const std::string_view after_prev = body.substr(kPrevPrefix.size() + kHexLength + 1);
  return after_prev.starts_with(kFormat2) &&
         (after_prev.size() == kFormat2.size() || after_prev[kFormat2.size()] == ',');
}

// Appends `marker` and 64 hex digits to `out`; returns where the digits are.
std::size_t append_hex_member(std::string& out, std::string_view marker) {
  out += marker;
  const std::size_t at = out.size();
  out.resize(at + kHexLength);
  return at;
}

// Whether a line is the daemon's record of reopening its log: the first line of
// the file a rotated log goes on in.
bool is_reopen_record(std::string_view line) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(line, ec);
  const boost::json::object* record = ec ? nullptr : value.if_object();
  if (record == nullptr) return false;
  const auto text = [&](std::string_view name) {
    const boost::json::value* member = record->if_contains(name);
    return member != nullptr && member->is_string() ? std::string_view(member->get_string()) : std::string_view();
  };
  return text("action") == kReopenAction && text("decision") == "allow";
}

}  // namespace

Hash seal_into(std::string& out, std::string_view fields, std::string_view prev, const Key* key) {
  const std::size_t start = out.size();
  out += kPrevPrefix;
  out += prev;
  out += '"';
  out += kFormat2;
  if (!fields.empty()) out += ',';
  out += fields;
  const std::size_t body_end = out.size();
  const std::size_t hash_at = append_hex_member(out, kHashMarker);
  sha256_hex(std::string_view(out).substr(start, body_end - start), &out[hash_at]);
  if (key) {
    const std::size_t mac_at = append_hex_member(out, kMacMarker);
    hmac_hex(std::string_view(out).substr(hash_at, kHexLength), *key, &out[mac_at]);
  }
  out += kEnd;
  Hash hash;
  std::copy_n(out.begin() + static_cast<std::ptrdiff_t>(hash_at), kHexLength, hash.begin());
  return hash;
}

std::optional<Sealed> parse(std::string_view line) {
  if (!line.ends_with(kEnd)) return std::nullopt;
  std::string_view rest = line.substr(0, line.size() - kEnd.size());
  Sealed sealed;
  // Takes `marker` and 64 characters off the end of `rest`, if it ends so.
  const auto take_hex = [&](std::string_view marker, std::string_view& hex) {
    const std::size_t size = marker.size() + kHexLength;
    if (rest.size() < size || !rest.substr(rest.size() - size).starts_with(marker)) return false;
    hex = rest.substr(rest.size() - kHexLength);
    rest.remove_suffix(size);
    return true;
  };
  take_hex(kMacMarker, sealed.mac);  // it closes the hash's string: what is left ends like an unkeyed line's
  if (!take_hex(kHashMarker, sealed.hash)) return std::nullopt;
  sealed.body = rest;
  if (rest.starts_with(kPrevPrefix) && rest.size() > kPrevPrefix.size() + kHexLength) {
    sealed.fields = rest.substr(kPrevPrefix.size() + kHexLength + 1);
    if (is_format2(rest)) {
      sealed.format = 2;
      sealed.fields.remove_prefix(kFormat2.size());
    }
    if (sealed.fields.starts_with(',')) sealed.fields.remove_prefix(1);
  }
  return sealed;
}

std::string hash_of(std::string_view line) {
  const std::optional<Sealed> sealed = parse(line);
  return sealed ? std::string(sealed->hash) : std::string();
}

Verdict verify(std::istream& lines, std::optional<std::string_view> head, const Key* key, std::size_t max_lines,
               std::optional<std::string_view> follows) {
  Verdict verdict;
  verdict.macs_checked = key != nullptr;
  std::string expected_prev(kGenesis);
  std::string line;
  const auto fail = [&](std::string reason) {
    verdict.ok = false;
    verdict.first_bad = verdict.lines;
    verdict.reason = std::move(reason);
    return verdict;
  };
  while (verdict.lines < max_lines && std::getline(lines, line)) {
    ++verdict.lines;
    const std::optional<Sealed> sealed = parse(line);
    if (!line.starts_with(kPrevPrefix) || !sealed || sealed->body.size() <= kPrevPrefix.size() + kHexLength) {
      return fail("not a chained audit line");
    }
    const bool format2 = sealed->format == 2;
    Hash actual;
    if (format2) {
      sha256_hex(sealed->body, actual.data());
    } else {
      blake2b_hex(sealed->body, nullptr, actual.data());
    }
    if (view(actual) != sealed->hash) return fail("the line was edited (its hash does not match its contents)");
    const std::string_view prev = std::string_view(line).substr(kPrevPrefix.size(), kHexLength);
    if (verdict.lines == 1 && follows) {
      if (prev != *follows) {
        return fail("the first line does not continue the log whose last hash is " + std::string(*follows) +
                    " (its prev is " + std::string(prev) + "): lines were cut, or it continues another file");
      }
      verdict.follows = prev;
    } else if (verdict.lines == 1 && prev != kGenesis) {
      if (!is_reopen_record(line)) {
        return fail(
            "the log does not start at the beginning of the chain (lines were cut); a file that continues a "
            "rotated log starts with a reopen-log record, or is checked with --follows");
      }
      verdict.follows = prev;
    } else if (prev != expected_prev) {
      return fail("the chain is broken: a line before this one was deleted or lines were reordered");
    }
    if (!sealed->mac.empty()) {
      if (key) {
        if (format2) {
          hmac_hex(sealed->hash, *key, actual.data());
        } else {
          blake2b_hex(sealed->hash, &key->bytes(), actual.data());
        }
        if (view(actual) != sealed->mac) {
          return fail(
              "the line's mac is not the audit key's: this line, or the chain before it, was rewritten "
              "by someone without the key");
        }
      }
      ++verdict.keyed;
      verdict.unkeyed_tail = 0;
    } else if (verdict.keyed > 0) {
      ++verdict.unkeyed_tail;
    }
    if (head && verdict.head_line == 0 && sealed->hash == *head) verdict.head_line = verdict.lines;
    expected_prev = sealed->hash;
  }
  if (verdict.lines > 0) verdict.last_hash = expected_prev;
  if (head && verdict.head_line == 0) {
    verdict.ok = false;
    verdict.first_bad = verdict.lines + 1;
    verdict.reason = "the head " + std::string(*head) +
                     " is not in the log: lines were cut off its end, or the log was rewritten before it";
  }
  return verdict;
}

}  // namespace okxvault::audit_chain
