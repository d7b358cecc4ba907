#include "client/cli/bot_config.hpp"

#include <boost/json/memory_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>
#include <new>
#include <optional>

#include "client/cli/exit_codes.hpp"
#include "common/error.hpp"

namespace okxvault::cli {
namespace {

namespace json = boost::json;

// Heap that wipes each block as it is freed: the parsed config holds the secret.
// Plain operator new, whose blocks are aligned for any type Boost.JSON keeps
// (it may free a block with another alignment than it asked for, so the
// aligned forms, which must match, are not used).
class WipingResource final : public json::memory_resource {
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) throw std::bad_alloc();
    return ::operator new(bytes);
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t) override {
    wipe(p, bytes);
    ::operator delete(p);
  }
  bool do_is_equal(const memory_resource& other) const noexcept override { return this == &other; }
};

// The prefix every value that already uses the vault has.
constexpr std::string_view kVaultSecretPrefix = "okx-vault:";

// A member that is a non-empty string in the clear.
std::string_view clear_text(const json::object& object, std::string_view member, const std::string& where) {
  const json::value* value = object.if_contains(member);
  if (value == nullptr || !value->is_string() || value->get_string().empty()) {
    throw Error(Code::bad_request, "the config holds no OKX key: " + where + " is missing or empty");
  }
  const std::string_view text = value->get_string();
  // OctoBot keeps its keys encrypted (Fernet tokens, "gAAAAA..."): the key is
  // only known to OctoBot, and the vault cannot take it from the file.
  if (text.starts_with("gAAAAA")) {
    throw Error(Code::bad_request, where +
                                       " is encrypted (OctoBot encrypts the keys it saves): nothing to import; "
                                       "add the key with okx-vault add, then set it in the bot");
  }
  if (text.starts_with(kVaultSecretPrefix) || text == "okx-vault") {
    throw Error(Code::bad_request, where + " already uses the vault: nothing to import");
  }
  return text;
}

json::object& object_at(json::object& parent, std::string_view member, const std::string& where) {
  json::value* inner = parent.if_contains(member);
  if (inner == nullptr || !inner->is_object()) {
    throw Error(Code::bad_request, "the config holds no OKX key: it has no object " + where);
  }
  return inner->get_object();
}

// Where the JSON string of `value` is written in `text`, and how long it is
// there; nullopt if it is written in none or in several places (so that no
// other member is changed).
struct Place {
  std::size_t at, size;
};
std::optional<Place> only_place(std::string_view text, std::string_view value) {
  std::string quoted = json::serialize(json::string_view(value));
  const std::size_t at = text.find(quoted);
  const bool once = at != std::string_view::npos && text.find(quoted, at + 1) == std::string_view::npos;
  const Place place{at, quoted.size()};
  wipe(quoted);
  if (!once) return std::nullopt;
  return place;
}

// The members of each format, and the objects they are in.
struct Layout {
  std::string_view prefix;  // the path of the object, for people
  std::string_view key, secret, passphrase;
};
Layout layout_of(BotFormat format) {
  switch (format) {
    case BotFormat::freqtrade:
      return {"exchange.", "key", "secret", "password"};
    case BotFormat::octobot:
      return {"exchanges.okx.", "api-key", "api-secret", "api-password"};
    case BotFormat::ccxt_json:
      break;
  }
  return {"", "apiKey", "secret", "password"};
}

}  // namespace

BotFormat bot_format(std::string_view name) {
  if (name == "freqtrade") return BotFormat::freqtrade;
  if (name == "octobot") return BotFormat::octobot;
  if (name == "ccxt-json") return BotFormat::ccxt_json;
  throw UsageError("--from takes freqtrade, octobot or ccxt-json");
}

BotFields bot_fields(BotFormat format) {
  const Layout layout = layout_of(format);
  const std::string prefix(layout.prefix);
  return {prefix + std::string(layout.key), prefix + std::string(layout.secret),
          prefix + std::string(layout.passphrase)};
}

BotKey read_bot_key(BotFormat format, std::string_view text, std::string_view name) {
  WipingResource resource;
  json::parse_options options;
  options.allow_comments = true;
  options.allow_trailing_commas = true;
  boost::system::error_code ec;
  json::value root = json::parse(text, ec, json::storage_ptr(&resource), options);
  if (ec) throw Error(Code::bad_request, "the config is not JSON (" + ec.message() + ")");
  if (!root.is_object()) throw Error(Code::bad_request, "the config is not a JSON object");
  const BotFields fields = bot_fields(format);
  json::object* holder = &root.get_object();
  if (format == BotFormat::freqtrade) {
    holder = &object_at(root.get_object(), "exchange", "exchange");
    const json::value* exchange = holder->if_contains("name");
    if (exchange == nullptr || !exchange->is_string() || (exchange->get_string() != "okx")) {
      throw Error(Code::bad_request, "the config holds no OKX key: exchange.name is not \"okx\"");
    }
  } else if (format == BotFormat::octobot) {
    holder = &object_at(object_at(root.get_object(), "exchanges", "exchanges"), "okx", "exchanges.okx");
  }
  const Layout layout = layout_of(format);
  BotKey key;
  key.api_key = clear_text(*holder, layout.key, fields.api_key);
  const std::string_view secret = clear_text(*holder, layout.secret, fields.secret);
  const std::string_view passphrase = clear_text(*holder, layout.passphrase, fields.passphrase);
  key.secret = SecretBytes::copy_of(secret);
  key.passphrase = SecretBytes::copy_of(passphrase);

  const std::optional<Place> secret_at = only_place(text, secret);
  const std::optional<Place> passphrase_at = only_place(text, passphrase);
  if (!secret_at || !passphrase_at) {
    key.why_not =
        "the secret or the passphrase is written in more than one place in the file, or with escapes: edit it by "
        "hand";
    return key;
  }
  // The two strings, in the order they come, replaced by the vault's words.
  struct Replacement {
    std::size_t at, size;
    std::string by;
  };
  Replacement first{secret_at->at, secret_at->size,
                    json::serialize(json::string_view(std::string(kVaultSecretPrefix) + std::string(name)))};
  Replacement second{passphrase_at->at, passphrase_at->size, "\"okx-vault\""};
  if (second.at < first.at) std::swap(first, second);
  if (first.at + first.size > second.at) {
    key.why_not = "the secret and the passphrase overlap in the file";
    return key;
  }
  key.rewritten.reserve(text.size());
  key.rewritten.append(text.substr(0, first.at)).append(first.by);
  key.rewritten.append(text.substr(first.at + first.size, second.at - first.at - first.size)).append(second.by);
  key.rewritten.append(text.substr(second.at + second.size));
  // The rewritten file must read as the original with those two members
  // changed, and nothing else: else a string elsewhere was taken for them.
  const std::string vault_secret = std::string(kVaultSecretPrefix) + std::string(name);
  (*holder)[layout.secret] = vault_secret;
  (*holder)[layout.passphrase] = "okx-vault";
  const json::value reread = json::parse(key.rewritten, ec, json::storage_ptr(&resource), options);
  if (ec || reread != root) {
    key.rewritten.clear();
    key.why_not = "the file cannot be changed in place without touching other members: edit it by hand";
  }
  return key;
}

}  // namespace okxvault::cli
