#pragma once
// A bot's config file that holds an OKX key in the clear (okx-vault
// import-config): where each format keeps the api key, secret and passphrase,
// and the same file with the secret replaced by `okx-vault:NAME` and the
// passphrase by `okx-vault`, which the vault's ccxt shims read as "ask the
// vault". Pure functions, no I/O. The parsed tree lives in memory that is
// wiped as it is freed.

#include <string>
#include <string_view>
#include <vector>

#include "common/secret.hpp"

namespace okxvault::cli {

enum class BotFormat { freqtrade, octobot, ccxt_json };

// "freqtrade", "octobot", "ccxt-json"; UsageError for another name.
BotFormat bot_format(std::string_view name);

// Where a format keeps each member, as a path for people: "exchange.secret".
struct BotFields {
  std::string api_key, secret, passphrase;
};
BotFields bot_fields(BotFormat format);

// What a config holds, and the text of it that uses the vault instead.
struct BotKey {
  std::string api_key;  // not secret
  SecretBytes secret;
  SecretBytes passphrase;
  // The file's text with the secret's and passphrase's JSON strings replaced;
  // empty when it cannot be done in place (the same string is written more than
  // once in the file): `why_not` then says why.
  std::string rewritten;
  std::string why_not;
};

// Reads the OKX key out of `text` (JSON; comments and trailing commas allowed,
// as freqtrade allows them). Error(bad_request) with a message naming the
// member, never its value, for a file that is not such a config, holds no OKX
// key, or holds an encrypted one (OctoBot's encrypted values) or one that
// already uses the vault.
BotKey read_bot_key(BotFormat format, std::string_view text, std::string_view name);

}  // namespace okxvault::cli
