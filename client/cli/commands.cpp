#include "client/cli/commands.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <regex>
#include <type_traits>
#include <utility>

#include "client/cli/audit_view.hpp"
#include "client/cli/bot_config.hpp"
#include "client/cli/config_rewrite.hpp"
#include "client/cli/exit_codes.hpp"
#include "client/cli/files.hpp"
#include "client/cli/format.hpp"
#include "client/cli/spawn.hpp"
#include "common/secret.hpp"
#include "common/terminal.hpp"
#include "common/timestamp.hpp"
#include "proto/audit_chain.hpp"
#include "proto/backup.hpp"
#include "proto/messages.hpp"
#include "proto/sealed_key.hpp"

namespace okxvault::cli {

namespace {

// Whether this user may connect to the socket at `path` (write permission on
// it, search on its directories). Only a definite "no" counts: a socket that
// is not there yet is for the connection to report.
bool permission_denied(const std::string& path) { return ::access(path.c_str(), W_OK) != 0 && errno == EACCES; }

std::string group_of(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return "its group";
  std::vector<char> buffer(64 * 1024);
  group entry{};
  group* found = nullptr;
  if (::getgrgid_r(info.st_gid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
    return std::string("group ") + found->gr_name;
  }
  return "group " + std::to_string(info.st_gid);
}

}  // namespace

Context::Context(Sockets sockets, Channel channel, std::chrono::milliseconds timeout, bool quiet)
    : sockets_(std::move(sockets)), timeout_(timeout), quiet_(quiet) {
  const bool use_admin = sockets_.admin_socket &&
                         (channel == Channel::admin || ::access(sockets_.admin_socket->c_str(), W_OK) == 0);
  socket_path_ = use_admin ? *sockets_.admin_socket : sockets_.socket;
}

Client& Context::client() {
  if (!client_) {
    if (permission_denied(socket_path_)) {
      if (on_admin_socket()) {
        throw Error(Code::forbidden, "permission denied on the admin socket " + socket_path_ +
                                         ": admin commands need a user who may connect to it (root, with its "
                                         "usual mode 0600: run okx-vault as root); the socket " +
                                         sockets_.socket + " serves status, list, sign, curl and ws-login");
      }
      throw Error(Code::forbidden,
                  "permission denied on the socket " + socket_path_ + ": only root and members of " +
                      group_of(socket_path_) + " may connect to it" +
                      (sockets_.admin_socket ? "; admins use the admin socket " + *sockets_.admin_socket
                                             : std::string()));
    }
    client_.emplace(socket_path_, timeout_);
  }
  return *client_;
}

std::string Context::forbidden_hint() const {
  if (on_admin_socket()) {
    return " (on the admin socket " + socket_path_ +
           "): admin commands need root, the daemon's own user or a member of its --admin-group";
  }
  if (sockets_.admin_socket) {
    return " (on the socket " + socket_path_ + "): admin commands go to the admin socket " + *sockets_.admin_socket;
  }
  return " (on the socket " + socket_path_ +
         "): admin commands need root, the daemon's own user or a member of its --admin-group, and go to its "
         "admin socket if it has one (/run/okx-vault/admin.sock under systemd): give it with --admin-socket PATH "
         "or admin-socket in the config file";
}

namespace {

void json_option(po::options_description& options) {
  options.add_options()("json", po::bool_switch(), "print the daemon's JSON reply");
}

bool flag(const Invocation& invocation, const char* name) {
  return invocation.options.count(name) != 0 && invocation.options[name].as<bool>();
}

std::optional<std::string> optional_value(const Invocation& invocation, const char* name) {
  if (invocation.options.count(name) == 0) return std::nullopt;
  return invocation.options[name].as<std::string>();
}

void say(const Context& context, std::string_view message) {
  if (!context.quiet()) std::cerr << message << '\n';
}

int status(Context& context, const Invocation& invocation) {
  const proto::StatusReply reply = context.client().status();
  std::cout << (flag(invocation, "json") ? proto::encode(reply) + "\n" : status_text(reply, context.socket_path()));
  return kExitOk;
}

int list(Context& context, const Invocation& invocation) {
  const std::vector<proto::KeyInfo> keys = context.client().list();
  if (flag(invocation, "json")) {
    std::cout << proto::encode(keys) << '\n';
  } else if (keys.empty()) {
    if (!context.quiet()) std::cerr << "The vault holds no keys you may see.\n";
  } else {
    std::cout << key_table(keys, unix_ms(Clock::now()));
  }
  return kExitOk;
}

// A duration as "30d", "12h", "45m", "90s": its count and the milliseconds of
// its unit; nullopt for anything else. A count of more than 15 digits is
// refused: no bound a caller checks it against has that many.
struct Duration {
  std::int64_t count = 0;
  std::int64_t unit_ms = 0;
};
std::optional<Duration> duration_of(const std::string& text) {
  if (text.size() < 2 || !std::all_of(text.begin(), text.end() - 1, [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  std::int64_t unit_ms = 0;
  switch (text.back()) {
    case 'd':
      unit_ms = 86'400'000;
      break;
    case 'h':
      unit_ms = 3'600'000;
      break;
    case 'm':
      unit_ms = 60'000;
      break;
    case 's':
      unit_ms = 1'000;
      break;
    default:
      return std::nullopt;
  }
  const std::string count = text.substr(0, text.size() - 1);
  if (count.size() > 15) return Duration{std::numeric_limits<std::int64_t>::max() / unit_ms, unit_ms};
  return Duration{std::stoll(count), unit_ms};
}

// "30d", "12h", "45m", "90s" from now, or an ISO 8601 UTC time as the daemon writes them.
// A duration that ends after the last time the protocol accepts is a usage error.
std::string expiry(const std::string& text) {
  if (const std::optional<Duration> duration = duration_of(text)) {
    const std::int64_t now = unix_ms(Clock::now());
    if (duration->count >= (kEndUnixMs - now) / duration->unit_ms) {
      throw UsageError("--expires must end before the year " + std::to_string(kLastYear + 1));
    }
    return iso8601_ms(now + duration->count * duration->unit_ms);
  }
  try {
    return iso8601_ms(parse_iso8601_ms(text));
  } catch (const Error&) {
    throw UsageError("--expires takes a duration (30d, 12h, 45m, 90s) or a time like 2027-01-01T00:00:00.000Z");
  }
}

// --since: "1h", "30m", "2d", "90s" before now, or an ISO 8601 UTC time; as Unix milliseconds.
std::int64_t since_ms(const std::string& text) {
  if (const std::optional<Duration> duration = duration_of(text)) {
    const std::int64_t now = unix_ms(Clock::now());
    return duration->count >= now / duration->unit_ms ? 0 : now - duration->count * duration->unit_ms;
  }
  try {
    return unix_ms(parse_iso8601_ms(text));
  } catch (const Error&) {
    throw UsageError("--since takes a duration (2d, 1h, 30m, 90s) or a time like 2026-12-01T00:00:00.000Z");
  }
}

void key_options(po::options_description& options) {
  options.add_options()("api-key", po::value<std::string>()->required(),
                        "the OKX API key (not secret; shown masked by list)")(
      "simulated", po::bool_switch(), "a demo-trading key: signs carry x-simulated-trading: 1")(
      "expires", po::value<std::string>(), "the key stops signing after this: 30d, 12h, or an ISO 8601 time");
}

void add_options(po::options_description& options) {
  key_options(options);
  options.add_options()("json", po::bool_switch(), "print the added key's metadata as the daemon's JSON reply");
}

// The daemon's rules for a key name and an api key (PROTOCOL.md, POST /v1/keys),
// checked here only so that nobody types a secret for a request it will refuse.
void check_name_and_api_key(const std::string& name, const std::string& api_key) {
  const auto first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  const auto rest = [&](char c) { return first(c) || c == '.' || c == '_' || c == '-'; };
  if (name.empty() || name.size() > 64 || !first(name.front()) || !std::all_of(name.begin(), name.end(), rest)) {
    throw Error(Code::invalid_name,
                "key name must be 1 to 64 characters of a-z 0-9 . _ - starting with a letter or digit");
  }
  constexpr std::size_t kMaxApiKeyBytes = 256;
  if (api_key.empty() || api_key.size() > kMaxApiKeyBytes ||
      !std::all_of(api_key.begin(), api_key.end(), [](unsigned char c) { return c >= 0x21 && c <= 0x7e; })) {
    throw Error(Code::bad_request, "--api-key must be 1 to 256 characters of printable ASCII without spaces");
  }
}

void require_unlocked(Client& client) {
  if (client.status().locked) {
    throw Error(Code::vault_locked, "the vault is locked; unlock it first: okx-vault unlock");
  }
}

// Everything add can know before it asks for the secret and passphrase, asked
// in the order the daemon would refuse the key: who serves the socket (a secret
// goes only to a daemon to be trusted), an admin caller, a free name, an
// unlocked vault. Reading the key's grants answers the middle two at once: it
// is admin only, and key_not_found for a free name. The daemon checks it all
// again when the key arrives, so another admin adding the same name in between
// still gets key_exists.
void check_before_add(Context& context, const std::string& name) {
  Client& client = context.client();
  client.verify_server();
  bool exists = true;
  try {
    client.grants(name);
  } catch (const Error& e) {
    if (e.code() != Code::key_not_found) throw;
    exists = false;
  }
  if (exists) {
    throw Error(Code::key_exists, "a key named '" + name + "' already exists (keys are never overwritten: choose " +
                                      "another name, or okx-vault revoke it first)");
  }
  require_unlocked(client);
}

// The secret and then the passphrase of key `name`, read as add and update read
// them (a no-echo prompt, or a line of stdin each), into guarded memory.
template <typename Request>
void read_credentials(const std::string& name, bool replacing, Request& request) {
  const std::string of = " for '" + name + "': ";
  request.secret = read_secret_line(std::string(replacing ? "New secret" : "Secret") + of, "secret");
  request.passphrase = read_secret_line(std::string(replacing ? "New passphrase" : "Passphrase") + of, "passphrase");
}

int add(Context& context, const Invocation& invocation) {
  const std::string& name = invocation.args.at(0);
  proto::AddKeyRequest request;
  request.name = name;
  request.api_key = invocation.options["api-key"].as<std::string>();
  request.simulated = flag(invocation, "simulated");
  if (const auto when = optional_value(invocation, "expires")) request.expires = expiry(*when);
  check_name_and_api_key(request.name, request.api_key);
  check_before_add(context, name);
  read_credentials(name, false, request);
  const proto::KeyInfo added = context.client().add(request);
  if (flag(invocation, "json")) std::cout << proto::encode(added) << '\n';
  if (!context.quiet()) {
    std::cerr << "Added key '" << added.name << "' (api key " << added.api_key << ", "
              << (added.simulated ? "demo trading" : "live trading") << ").\n";
  }
  return kExitOk;
}

void import_config_options(po::options_description& options) {
  options.add_options()("from", po::value<std::string>()->required(),
                        "the config's format: freqtrade, octobot or ccxt-json")("name",
                                                                                po::value<std::string>()->required(),
                                                                                "the name the key gets in the vault")(
      "rewrite", po::bool_switch(), "write the change into FILE, keeping the original as FILE.bak (mode 0600)");
}

// Moves the OKX key of a bot's config into the vault, as add does (the same
// checks first, the same call), then says, or with --rewrite makes, the change
// that has the bot ask the vault: `okx-vault:NAME` as its secret. Nothing is
// added unless the change can be made as asked.
int import_config(Context& context, const Invocation& invocation) {
  const BotFormat format = bot_format(invocation.options["from"].as<std::string>());
  const std::string name = invocation.options["name"].as<std::string>();
  const std::string& path = invocation.args.at(0);
  const bool rewrite = flag(invocation, "rewrite");
  const ConfigFile file = read_config_file(path);
  BotKey key;
  try {
    key = read_bot_key(format, file.text, name);
  } catch (const Error& e) {
    throw Error(e.code(), path + ": " + e.what() + "; nothing was imported");
  }
  check_name_and_api_key(name, key.api_key);
  if (rewrite) {
    if (key.rewritten.empty()) {
      throw Error(Code::bad_request, "cannot rewrite " + path + ": " + key.why_not + "; nothing was imported");
    }
    check_config_replaceable(path);
  }
  check_before_add(context, name);
  proto::AddKeyRequest request;
  request.name = name;
  request.api_key = key.api_key;
  request.secret = std::move(key.secret);
  request.passphrase = std::move(key.passphrase);
  const proto::KeyInfo added = context.client().add(request);
  say(context, "Added key '" + added.name + "' (api key " + added.api_key + ") from " + path + ".");
  const BotFields fields = bot_fields(format);
  if (!rewrite) {
    std::cout << "Change " << path << " so that the bot asks the vault (its api key stays):\n"
              << "  " << fields.secret << ": \"okx-vault:" << name << "\"\n"
              << "  " << fields.passphrase << ": \"okx-vault\"\n";
    return kExitOk;
  }
  try {
    replace_config_file(path, file, key.rewritten);
  } catch (const Error& e) {
    throw Error(e.code(), std::string(e.what()) + "; the key was added as '" + name + "': set " + fields.secret +
                              " to \"okx-vault:" + name + "\" and " + fields.passphrase + " to \"okx-vault\" in " +
                              path + " by hand");
  }
  say(context, "Rewrote " + path + ": " + fields.secret + " is \"okx-vault:" + name + "\", " + fields.passphrase +
                   " is \"okx-vault\". The original, with the secret, is " + path +
                   ".bak (mode 0600): delete it once the bot works through the vault.");
  return kExitOk;
}

void update_options(po::options_description& options) {
  options.add_options()("api-key", po::value<std::string>()->required(),
                        "the new OKX API key (not secret; shown masked by list)")(
      "simulated", po::bool_switch(), "the key is a demo-trading key (required for one, refused for a live key)")(
      "json", po::bool_switch(), "print the updated key's metadata as the daemon's JSON reply");
}

// Everything update can know before it asks for the new secret and passphrase:
// who serves the socket, an admin caller and a key of that name (reading its
// grants answers both), the key's demo flag as --simulated says it, an unlocked
// vault. The daemon checks it all again when the credentials arrive.
void check_before_update(Context& context, const std::string& name, bool simulated) {
  Client& client = context.client();
  client.verify_server();
  client.grants(name);
  const std::vector<proto::KeyInfo> keys = client.list();
  const auto key = std::find_if(keys.begin(), keys.end(), [&](const proto::KeyInfo& k) { return k.name == name; });
  if (key != keys.end() && key->simulated != simulated) {
    throw Error(Code::bad_request,
                key->simulated ? "key '" + name + "' is a demo key: give --simulated (an update keeps it a demo key)"
                               : "key '" + name + "' is a live key: an update keeps it one, so give no --simulated");
  }
  require_unlocked(client);
}

int update(Context& context, const Invocation& invocation) {
  const std::string& name = invocation.args.at(0);
  proto::UpdateKeyRequest request;
  request.api_key = invocation.options["api-key"].as<std::string>();
  request.simulated = flag(invocation, "simulated");
  check_name_and_api_key(name, request.api_key);
  check_before_update(context, name, request.simulated);
  read_credentials(name, true, request);
  const proto::KeyInfo updated = context.client().update(name, request);
  if (flag(invocation, "json")) std::cout << proto::encode(updated) << '\n';
  say(context, "Updated key '" + updated.name + "': api key " + updated.api_key +
                   ", new secret and passphrase; its grants, expiry and usage are kept.");
  return kExitOk;
}

void revoke_options(po::options_description& options) {
  options.add_options()("yes,y", po::bool_switch(),
                        "do not ask for confirmation (required when stdin is not a terminal)");
}

int revoke(Context& context, const Invocation& invocation) {
  const std::string& name = invocation.args.at(0);
  if (!flag(invocation, "yes")) {
    // Nobody is asked to confirm what cannot happen: a key that is not there
    // (exit code 5) or a caller who is not an admin (4). Reading its grants
    // answers both.
    context.client().grants(name);
    // Revoking cannot be undone: without a person to ask, insist on --yes
    // rather than guess what a script meant.
    if (!stdin_is_terminal()) throw UsageError("stdin is not a terminal; confirm revoking with --yes");
    if (!confirm("Revoke key '" + name + "'?")) {
      std::cerr << "Key '" << name << "' was not revoked.\n";
      return kExitFailure;
    }
  }
  context.client().revoke(name);
  if (!context.quiet()) std::cerr << "Revoked key '" << name << "'.\n";
  return kExitOk;
}

void sign_options(po::options_description& options) {
  options.add_options()("body", po::value<std::string>(), "the request body, exactly as it will be sent")(
      "body-file", po::value<std::string>(), "read the body from this file, byte for byte")(
      "body-stdin", po::bool_switch(), "read the body from stdin, byte for byte")(
      "timestamp", po::value<std::string>(), "sign with this ISO 8601 time (within the daemon's skew limit)")(
      "json", po::bool_switch(), "print the daemon's JSON reply")("curl", po::bool_switch(),
                                                                  "print arguments for curl (see okx-vault help sign)");
}

std::string read_all(std::istream& in) { return {std::istreambuf_iterator<char>(in), {}}; }

std::string body_of(const Invocation& invocation) {
  const auto text = optional_value(invocation, "body");
  const auto file = optional_value(invocation, "body-file");
  const bool from_stdin = flag(invocation, "body-stdin");
  if (int(text.has_value()) + int(file.has_value()) + int(from_stdin) > 1) {
    throw UsageError("give the body once: --body, --body-file or --body-stdin");
  }
  if (text) return *text;
  if (file) {
    std::ifstream in(*file, std::ios::binary);
    if (in) {
      try {
        std::string body = read_all(in);
        if (!in.bad()) return body;
      } catch (const std::ios_base::failure&) {  // libstdc++ throws for a directory
      }
    }
    throw UsageError("cannot read --body-file " + *file + ": " + std::strerror(errno));
  }
  if (from_stdin) return read_all(std::cin);
  return {};
}

// KEY METHOD PATH and the body options, as a sign request.
proto::SignRequest sign_request_of(const Invocation& invocation) {
  proto::SignRequest request;
  request.method = invocation.args.at(1);
  // OKX signs the upper-case method; accept "get" as the obvious typo it is.
  std::transform(request.method.begin(), request.method.end(), request.method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  request.path = invocation.args.at(2);
  request.body = body_of(invocation);
  return request;
}

int sign(Context& context, const Invocation& invocation) {
  if (flag(invocation, "json") && flag(invocation, "curl")) throw UsageError("choose one of --json and --curl");
  proto::SignRequest request = sign_request_of(invocation);
  request.timestamp = optional_value(invocation, "timestamp");
  const proto::SignReply reply = context.client().sign(invocation.args.at(0), request);
  if (flag(invocation, "json")) {
    std::cout << proto::encode(reply) << '\n';
  } else if (flag(invocation, "curl")) {
    std::cout << curl_arguments(request.method, reply.headers, request.body) << '\n';
  } else {
    std::cout << header_lines(reply.headers);
  }
  return kExitOk;
}

void curl_options(po::options_description& options) {
  options.add_options()("body", po::value<std::string>(), "the request body, exactly as it will be sent")(
      "body-file", po::value<std::string>(), "read the body from this file, byte for byte")(
      "base-url", po::value<std::string>(), "send to this server (default https://www.okx.com)");
}

// scheme://host[:port] with no path: the signed path is appended as it is.
// Plain http only to this host, since the request carries the passphrase.
std::string base_url(const Invocation& invocation) {
  const std::string url = optional_value(invocation, "base-url").value_or("https://www.okx.com");
  static const std::regex shape(R"(^(https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?/?$)");
  std::smatch match;
  if (!std::regex_match(url, match, shape)) {
    throw UsageError("--base-url takes https://HOST[:PORT], without a path: the signed PATH is appended to it");
  }
  const std::string host = match[2];
  if (match[1] == "http" && host != "127.0.0.1" && host != "localhost" && host != "[::1]") {
    throw UsageError(
        "--base-url: plain http only to this host (127.0.0.1, localhost, [::1]); the request "
        "carries the key's passphrase, so use https");
  }
  return url.ends_with('/') ? url.substr(0, url.size() - 1) : url;
}

int curl(Context& context, const Invocation& invocation) {
  const proto::SignRequest request = sign_request_of(invocation);
  const std::string url = base_url(invocation) + request.path;
  // Refused before anything is signed: a signature nobody can send is not made.
  if (request.body.find('\0') != std::string::npos) {
    throw UsageError("a body with a NUL byte cannot be passed to curl");
  }
  // Nothing runs unless the daemon signed: an error here leaves curl unstarted.
  proto::SignReply reply = context.client().sign(invocation.args.at(0), request);
  std::string config = curl_config(request.method, reply.headers, request.body, url);
  for (auto& [name, value] : reply.headers) wipe(value);
  std::vector<std::string> argv = {"curl"};
  argv.insert(argv.end(), invocation.passed_on.begin(), invocation.passed_on.end());
  // Last, so that the signed method, headers, body and URL are what curl sends.
  argv.insert(argv.end(), {"--config", "-"});
  int code = kExitFailure;
  try {
    code = run_with_input(argv, config);
  } catch (...) {
    wipe(config);
    throw;
  }
  wipe(config);
  return code;
}

void ws_login_options(po::options_description& options) {
  options.add_options()("timestamp", po::value<std::string>(),
                        "sign with this Unix time in seconds (within the daemon's skew limit)")(
      "json", po::bool_switch(), "the same: the frame is the daemon's JSON (accepted as on every command with data)");
}

int ws_login(Context& context, const Invocation& invocation) {
  std::cout << context.client().ws_login(invocation.args.at(0), optional_value(invocation, "timestamp")) << '\n';
  return kExitOk;
}

void principal_options(po::options_description& options) {
  options.add_options()("user", po::value<std::string>(), "a user name or uid")("group", po::value<std::string>(),
                                                                                "a group name or gid");
}

// The grant's principal from --user or --group (exactly one).
proto::GrantInfo principal(const Invocation& invocation) {
  const auto user = optional_value(invocation, "user");
  const auto group = optional_value(invocation, "group");
  if (user.has_value() == group.has_value()) throw UsageError("give exactly one of --user and --group");
  proto::GrantInfo grant;
  grant.kind = user ? proto::GrantInfo::Kind::user : proto::GrantInfo::Kind::group;
  grant.name = user ? *user : *group;
  return grant;
}

// The uid or gid a --user or --group names: a decimal id as it is, a name as
// this host's user and group database says (the daemon, on the same host,
// resolves it the same way when it stores the grant).
std::optional<std::uint32_t> id_of(const proto::GrantInfo& principal) {
  const std::string& name = principal.name;
  if (!name.empty() && name.size() <= 10 &&
      std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); })) {
    const unsigned long long id = std::stoull(name);
    if (id <= std::numeric_limits<std::uint32_t>::max()) return static_cast<std::uint32_t>(id);
    return std::nullopt;
  }
  std::vector<char> buffer(64 * 1024);
  if (principal.kind == proto::GrantInfo::Kind::user) {
    passwd entry{};
    passwd* found = nullptr;
    if (::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
      return found->pw_uid;
    }
  } else {
    group entry{};
    group* found = nullptr;
    if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr) {
      return found->gr_gid;
    }
  }
  return std::nullopt;
}

// Grants are replaced as a whole: read them, change the one principal, write
// back. `stored` is a grant as the daemon answers it (with its id), `given` one
// from --user or --group.
bool same_principal(const proto::GrantInfo& stored, const proto::GrantInfo& given) {
  if (stored.kind != given.kind) return false;
  if (stored.name == given.name) return true;
  const std::optional<std::uint32_t> id = id_of(given);
  return stored.id && id && *stored.id == *id;
}

// Whether a stored grant already says what `given` asks for.
bool same_terms(const proto::GrantInfo& stored, const proto::GrantInfo& given) {
  return stored.read_only == given.read_only && stored.ws == given.ws && stored.expires == given.expires &&
         stored.allow == given.allow && stored.deny == given.deny && stored.limits == given.limits;
}

void grant_options(po::options_description& options) {
  principal_options(options);
  options.add_options()("read-only", po::bool_switch(), "GET requests only, and no WebSocket login")(
      "allow", po::value<std::vector<std::string>>()->composing(),
      "allow only requests matching 'METHOD PATH-PREFIX' (repeatable)")(
      "deny", po::value<std::vector<std::string>>()->composing(), "refuse requests matching 'METHOD PATH-PREFIX'")(
      "expires", po::value<std::string>(), "the grant ends: 30d, 12h, or an ISO 8601 time")(
      "ws", po::bool_switch(), "WebSocket login frames too (a logged-in private WebSocket can place orders)")(
      "no-ws", po::bool_switch(), "no WebSocket login frames (the default)")(
      "replace", po::bool_switch(), "replace the grant the user or group already has on this key")(
      "inst", po::value<std::vector<std::string>>()->composing(),
      "trading limit: orders only for this instrument, BTC-USDT, or prefix, BTC-USD-* (repeatable)")(
      "inst-type", po::value<std::vector<std::string>>()->composing(),
      "trading limit: only SPOT, MARGIN, SWAP, FUTURES or OPTION (repeatable)")(
      "max-sz", po::value<std::vector<std::string>>()->composing(),
      "trading limit: PATTERN=SIZE, no order larger than SIZE for instruments PATTERN matches (repeatable)")(
      "px-range", po::value<std::vector<std::string>>()->composing(),
      "trading limit: PATTERN=MIN:MAX, limit prices within it; MIN or MAX may be empty (repeatable)")(
      "ord-types", po::value<std::string>(), "trading limit: only these ordType values, comma-separated")(
      "sides", po::value<std::string>(), "trading limit: only these sides (buy, sell), comma-separated")(
      "td-modes", po::value<std::string>(),
      "trading limit: only these tdMode values (cash, cross, isolated, spot_isolated), comma-separated")(
      "reduce-only", po::bool_switch(), "trading limit: every order must be reduceOnly")(
      "max-leverage", po::value<std::string>(), "trading limit: set-leverage at most this")(
      "orders-per-minute", po::value<std::string>(), "trading limit: at most this many orders a minute (1 to 1000000)");
}

std::vector<std::string> values(const Invocation& invocation, const char* name) {
  if (invocation.options.count(name) == 0) return {};
  return invocation.options[name].as<std::vector<std::string>>();
}

// A flag's value as an error message repeats it: the user's own text, but bounded.
std::string shown(std::string_view text) {
  constexpr std::size_t kShown = 80;
  std::string out(text.substr(0, kShown));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text.size() > kShown ? out + "..." : out;
}

// The flag that sets each field of the limits, for proto::validate's messages;
// the first whose field starts the message is taken, so inst_types precedes inst.
constexpr std::pair<std::string_view, std::string_view> kLimitFlags[] = {
    {"inst_types", "--inst-type"},
    {"inst", "--inst"},
    {"max_sz", "--max-sz"},
    {"px_range", "--px-range"},
    {"ord_types", "--ord-types"},
    {"sides", "--sides"},
    {"td_modes", "--td-modes"},
    {"max_leverage", "--max-leverage"},
    {"orders_per_minute", "--orders-per-minute"},
};

// Checks what one flag adds to the limits (`part`) as the daemon will, and says
// what is wrong in the flag's terms: proto::validate's "limits: max_sz for
// BTC-USDT: 'abc' is not a decimal" becomes "--max-sz BTC-USDT=abc: 'abc' is not
// a decimal".
void check_flag(const proto::Limits& part, std::string_view flag, std::string_view value) {
  try {
    proto::validate(part);
  } catch (const Error& e) {
    std::string_view problem = e.what();
    if (problem.starts_with("limits: ")) problem.remove_prefix(std::string_view("limits: ").size());
    if (const std::size_t colon = problem.find(": "); colon != std::string_view::npos) problem.remove_prefix(colon + 2);
    throw Error(Code::bad_request, std::string(flag) + " " + shown(value) + ": " + std::string(problem));
  }
}

// Limits with only `field` set, to check one flag's value on its own.
template <typename T>
proto::Limits only(T proto::Limits::*field, std::type_identity_t<T> value) {
  proto::Limits part;
  part.*field = std::move(value);
  return part;
}

std::vector<std::string> comma_list(std::string_view text) {
  std::vector<std::string> out;
  for (std::size_t at = 0;;) {
    const std::size_t comma = text.find(',', at);
    out.emplace_back(text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
    if (comma == std::string_view::npos) return out;
    at = comma + 1;
  }
}

// A list option's values. Given empty, the list would mean "any" to the daemon,
// the opposite of what someone who limits a list has in mind: it is refused.
std::vector<std::string> listed(std::string_view flag, std::string_view value, std::string_view what) {
  if (value.empty()) {
    throw Error(Code::bad_request, std::string(flag) + " '': give at least one " + std::string(what) +
                                       ", comma-separated; leave " + std::string(flag) + " out to allow any");
  }
  return comma_list(value);
}

// The trading limits the flags ask for; none unless one of them is given. A
// malformed one is invalid input (exit code 6), as a malformed --allow rule is.
std::optional<proto::Limits> limits_of(const Invocation& invocation) {
  proto::Limits limits;
  bool any = false;
  for (const std::string& value : values(invocation, "inst")) {
    check_flag(only(&proto::Limits::inst, {value}), "--inst", value);
    limits.inst.push_back(value);
    any = true;
  }
  for (const std::string& value : values(invocation, "inst-type")) {
    check_flag(only(&proto::Limits::inst_types, {value}), "--inst-type", value);
    limits.inst_types.push_back(value);
    any = true;
  }
  for (const std::string& value : values(invocation, "max-sz")) {
    const std::size_t equals = value.find('=');
    if (equals == std::string::npos) {
      throw Error(Code::bad_request, "--max-sz " + shown(value) + ": give PATTERN=SIZE, such as BTC-USDT=0.5");
    }
    const proto::MaxSize max{value.substr(0, equals), value.substr(equals + 1)};
    check_flag(only(&proto::Limits::max_sz, {max}), "--max-sz", value);
    limits.max_sz.push_back(max);
    any = true;
  }
  for (const std::string& value : values(invocation, "px-range")) {
    const std::size_t equals = value.find('=');
    const std::size_t colon = value.find(':', equals == std::string::npos ? 0 : equals);
    if (equals == std::string::npos || colon == std::string::npos) {
      throw Error(Code::bad_request,
                  "--px-range " + shown(value) +
                      ": give PATTERN=MIN:MAX, such as BTC-USDT=10000:90000 (MIN or MAX may be empty)");
    }
    const proto::PxRange range{value.substr(0, equals), value.substr(equals + 1, colon - equals - 1),
                               value.substr(colon + 1)};
    check_flag(only(&proto::Limits::px_range, {range}), "--px-range", value);
    limits.px_range.push_back(range);
    any = true;
  }
  if (const auto value = optional_value(invocation, "ord-types")) {
    limits.ord_types = listed("--ord-types", *value, "ordType");
    check_flag(only(&proto::Limits::ord_types, limits.ord_types), "--ord-types", *value);
    any = true;
  }
  if (const auto value = optional_value(invocation, "sides")) {
    limits.sides = listed("--sides", *value, "side");
    check_flag(only(&proto::Limits::sides, limits.sides), "--sides", *value);
    any = true;
  }
  if (const auto value = optional_value(invocation, "td-modes")) {
    limits.td_modes = listed("--td-modes", *value, "tdMode");
    check_flag(only(&proto::Limits::td_modes, limits.td_modes), "--td-modes", *value);
    any = true;
  }
  if (flag(invocation, "reduce-only")) {
    limits.reduce_only = true;
    any = true;
  }
  if (const auto value = optional_value(invocation, "max-leverage")) {
    check_flag(only(&proto::Limits::max_leverage, *value), "--max-leverage", *value);
    limits.max_leverage = *value;
    any = true;
  }
  if (const auto value = optional_value(invocation, "orders-per-minute")) {
    const bool digits = !value->empty() && value->size() <= 9 &&
                        std::all_of(value->begin(), value->end(), [](unsigned char c) { return std::isdigit(c); });
    const std::uint32_t n = digits ? static_cast<std::uint32_t>(std::stoul(*value)) : 0;
    check_flag(only(&proto::Limits::orders_per_minute, n), "--orders-per-minute", *value);
    limits.orders_per_minute = n;
    any = true;
  }
  if (!any) return std::nullopt;
  // What no single flag shows: too many entries of one kind.
  try {
    proto::validate(limits);
  } catch (const Error& e) {
    std::string problem = e.what();
    if (problem.starts_with("limits: ")) problem.erase(0, std::string_view("limits: ").size());
    for (const auto& [field, option] : kLimitFlags) {
      if (problem.starts_with(field)) {
        problem.replace(0, field.size(), option);
        break;
      }
    }
    throw Error(Code::bad_request, problem);
  }
  return limits;
}

int grant(Context& context, const Invocation& invocation) {
  const std::string& name = invocation.args.at(0);
  proto::GrantInfo added = principal(invocation);
  added.read_only = flag(invocation, "read-only");
  added.allow = values(invocation, "allow");
  added.deny = values(invocation, "deny");
  if (flag(invocation, "ws") && flag(invocation, "no-ws")) throw UsageError("choose one of --ws and --no-ws");
  added.ws = flag(invocation, "ws");
  if (const auto when = optional_value(invocation, "expires")) added.expires = expiry(*when);
  added.limits = limits_of(invocation);
  std::vector<proto::GrantInfo> grants = context.client().grants(name);
  const auto existing =
      std::find_if(grants.begin(), grants.end(), [&](const proto::GrantInfo& g) { return same_principal(g, added); });
  const bool replacing = existing != grants.end();
  // A grant is never replaced by accident: the one there may say more than the
  // new one (rules, an expiry, ws, limits) that nobody meant to drop. The same
  // grant again changes nothing, so a script may run twice.
  if (replacing && !flag(invocation, "replace")) {
    std::string what = grant_table({*existing});
    what.pop_back();  // its newline
    // One line: its limits' line, if any, goes in brackets at the end.
    constexpr std::string_view kLimits = "\n  limits: ";
    if (const std::size_t at = what.find(kLimits); at != std::string::npos) {
      what = what.substr(0, at) + ", limits (" + what.substr(at + kLimits.size()) + ")";
    }
    if (same_terms(*existing, added)) {
      say(context, "Key '" + name + "' already has this grant: " + what + ". Nothing changed.");
      return kExitOk;
    }
    throw Error(Code::bad_request, "key '" + name + "' already has a grant for " + what +
                                       "; nothing changed (--replace replaces it with this one)");
  }
  std::erase_if(grants, [&](const proto::GrantInfo& g) { return same_principal(g, added); });
  grants.push_back(added);
  context.client().set_grants(name, grants);
  say(context,
      std::string(replacing ? "Replaced the grant of key '" : "Granted key '") + name + "' to " + added.name + ".");
  return kExitOk;
}

int ungrant(Context& context, const Invocation& invocation) {
  const std::string& name = invocation.args.at(0);
  const proto::GrantInfo removed = principal(invocation);
  std::vector<proto::GrantInfo> grants = context.client().grants(name);
  if (std::erase_if(grants, [&](const proto::GrantInfo& g) { return same_principal(g, removed); }) == 0) {
    throw Error(Code::not_found, "key '" + name + "' has no grant for " + removed.name);
  }
  context.client().set_grants(name, grants);
  if (!context.quiet()) std::cerr << "Removed the grant of key '" << name << "' to " << removed.name << ".\n";
  return kExitOk;
}

int show_grants(Context& context, const Invocation& invocation) {
  const auto grants = context.client().grants(invocation.args.at(0));
  std::cout << (flag(invocation, "json") ? proto::encode(grants) + "\n" : grant_table(grants));
  return kExitOk;
}

void no_options(po::options_description&) {}

bool has_passphrase_slot(const proto::StatusReply& status) {
  return std::find(status.slots.begin(), status.slots.end(), "passphrase") != status.slots.end();
}

SecretBytes current_passphrase() { return read_secret_line("Vault passphrase: ", "vault passphrase"); }
SecretBytes new_passphrase() { return read_new_secret_line("New vault passphrase: ", "new vault passphrase"); }

int lock(Context& context, const Invocation&) {
  context.client().lock();
  say(context, "Locked: the daemon holds no secret until it is unlocked.");
  return kExitOk;
}

void unlock_options(po::options_description& options) {
  options.add_options()("key-file", po::bool_switch(), "unlock with the daemon's key file, not the passphrase");
}

int unlock(Context& context, const Invocation& invocation) {
  const proto::StatusReply status = context.client().status();
  if (!status.locked) {
    say(context, "The vault is not locked.");
    return kExitOk;
  }
  if (has_passphrase_slot(status) && !flag(invocation, "key-file")) {
    context.client().unlock(current_passphrase());
  } else {
    context.client().unlock_with_key_file();
  }
  say(context, "Unlocked.");
  return kExitOk;
}

int passphrase(Context& context, const Invocation& invocation) {
  const std::string& action = invocation.args.at(0);
  if (action == "set") {
    context.client().set_passphrase(new_passphrase());
    say(context, "The vault now also opens with this passphrase.");
  } else if (action == "change") {
    const SecretBytes current = current_passphrase();
    context.client().change_passphrase(current, new_passphrase());
    say(context, "Passphrase changed; the old one no longer opens the vault.");
  } else if (action == "remove") {
    context.client().remove_passphrase(current_passphrase());
    say(context, "Passphrase removed; only the key file opens the vault.");
  } else {
    throw UsageError("the passphrase command is: okx-vault passphrase set|change|remove", "passphrase");
  }
  return kExitOk;
}

int keyfile(Context& context, const Invocation& invocation) {
  if (invocation.args.at(0) != "rotate")
    throw UsageError("the keyfile command is: okx-vault keyfile rotate", "keyfile");
  // The daemon would add a key file to a vault that has none: a file on disk
  // that opens, unattended, a vault its admin chose to open only by passphrase.
  // (A daemon too old to list slots has only key files.)
  const std::vector<std::string> slots = context.client().status().slots;
  if (!slots.empty() && std::find(slots.begin(), slots.end(), "key_file") == slots.end()) {
    throw Error(Code::bad_request,
                "this vault has no key file to rotate: only its passphrase opens it, and rotating would write a new "
                "key file that opens it without the passphrase; nothing changed (okx-vault passphrase change "
                "changes the passphrase)");
  }
  context.client().rotate_key_file();
  say(context, "Key file rotated; the old key file no longer opens the vault.");
  return kExitOk;
}

// Whether this caller is an admin, asked before it is asked for a passphrase:
// the metrics are for admins only, and reading them changes nothing.
void require_admin(Client& client) { Client::expect(client.request("GET", "/v1/metrics"), 200); }

void backup_options(po::options_description& options) {
  options.add_options()("key", po::value<std::vector<std::string>>()->composing(),
                        "back up only this key (repeatable; default: every key)");
  options.add_options()("force", po::bool_switch(), "replace FILE if it exists");
  options.add_options()("json", po::bool_switch(), "print {\"file\", \"keys\"} as JSON once the file is written");
}

int backup(Context& context, const Invocation& invocation) {
  // Everything that can be refused is, before the passphrase is asked for: the
  // file (it exists, or its directory cannot be written), the daemon, admin
  // rights, a locked vault.
  NewFile file(invocation.args.at(0), flag(invocation, "force"), "(--force replaces it)");
  Client& client = context.client();
  client.verify_server();
  require_admin(client);
  require_unlocked(client);
  const SecretBytes passphrase = read_new_secret_line("Backup passphrase: ", "backup passphrase");
  proto::validate_backup_passphrase(passphrase);
  const proto::BackupReply reply = client.backup(passphrase, values(invocation, "key"));
  file.commit(reply.backup);
  const std::string& path = invocation.args.at(0);
  if (flag(invocation, "json")) {
    std::cout << boost::json::serialize(boost::json::object{{"file", path}, {"keys", reply.keys}}) << '\n';
  }
  say(context, "Wrote a backup of " + std::to_string(reply.keys) + (reply.keys == 1 ? " key" : " keys") + " to " +
                   path + ", sealed under the backup passphrase: keep the two apart (okx-vault restore " + path +
                   " restores it).");
  return kExitOk;
}

void restore_options(po::options_description& options) {
  options.add_options()("rename", po::value<std::vector<std::string>>()->composing(),
                        "restore the backup's key OLD as NEW: OLD=NEW (repeatable)");
  options.add_options()("skip-existing", po::bool_switch(), "leave out the backup's keys whose names the vault has");
  options.add_options()("json", po::bool_switch(), "print the daemon's JSON reply");
}

int restore(Context& context, const Invocation& invocation) {
  const std::string& path = invocation.args.at(0);
  std::vector<proto::Rename> renames;
  for (const std::string& value : values(invocation, "rename")) {
    const std::size_t equals = value.find('=');
    if (equals == std::string::npos) throw UsageError("--rename takes OLD=NEW: " + shown(value));
    renames.push_back({value.substr(0, equals), value.substr(equals + 1)});
  }
  // A file that is no backup, or one this okx-vault cannot read, is refused
  // before anything is asked.
  constexpr std::size_t kReadAtMost = 1 << 20;
  std::vector<unsigned char> bytes = read_file(path, kReadAtMost);
  const proto::BackupHeader header = proto::read_backup_header(bytes);
  if (bytes.size() > proto::kMaxBackupBytes) {
    throw Error(Code::payload_too_large,
                path + " is larger than a restore takes (" + std::to_string(proto::kMaxBackupBytes) + " bytes)");
  }
  Client& client = context.client();
  client.verify_server();
  require_admin(client);
  require_unlocked(client);
  proto::RestoreRequest request{std::move(bytes), read_secret_line("Backup passphrase: ", "backup passphrase"),
                                std::move(renames), flag(invocation, "skip-existing")};
  const proto::RestoreReply reply = client.restore(request);
  if (flag(invocation, "json")) std::cout << proto::encode(reply) << '\n';
  std::string restored;
  for (const proto::KeyInfo& key : reply.restored) restored += (restored.empty() ? "" : ", ") + key.name;
  say(context, "Restored " + std::to_string(reply.restored.size()) + (reply.restored.size() == 1 ? " key" : " keys") +
                   " from " + path + " (a backup of " + iso8601_ms(static_cast<std::int64_t>(header.created_ms)) + ")" +
                   (restored.empty() ? "." : ": " + restored + "."));
  if (!reply.skipped.empty()) {
    std::string skipped;
    for (const std::string& name : reply.skipped) skipped += (skipped.empty() ? "" : ", ") + name;
    say(context, "Left out, as the vault has keys of these names: " + skipped + ".");
  }
  for (const std::string& note : reply.notes) std::cerr << "Note: " << note << ".\n";
  return kExitOk;
}

void host_key_options(po::options_description& options) {
  options.add_options()("json", po::bool_switch(), "print the daemon's JSON reply");
}

int host_key(Context& context, const Invocation& invocation) {
  const std::string key = context.client().host_key();
  std::cout << (flag(invocation, "json") ? proto::encode(proto::HostKeyReply{key}) : key) << '\n';
  return kExitOk;
}

void seal_options(po::options_description& options) {
  options.add_options()("to", po::value<std::string>()->required(),
                        "the host key of the vault to seal to (okx-vault host-key there prints it)");
  key_options(options);
  options.add_options()("json", po::bool_switch(), "print {\"name\", \"to\", \"sealed\"} as JSON");
}

// Needs no daemon: all it checks, it checks here, as the daemon would on import.
int seal(Context&, const Invocation& invocation) {
  const std::string& name = invocation.args.at(0);
  const std::string& to = invocation.options["to"].as<std::string>();
  const proto::HostKey host = proto::decode_host_key(to);
  proto::SealedKey key;
  key.name = name;
  key.api_key = invocation.options["api-key"].as<std::string>();
  key.simulated = flag(invocation, "simulated");
  if (const auto when = optional_value(invocation, "expires")) key.expires = expiry(*when);
  check_name_and_api_key(key.name, key.api_key);
  read_credentials(name, false, key);
  constexpr std::size_t kMaxSecret = 512, kMaxPassphrase = 256;  // PROTOCOL.md, POST /v1/keys
  const auto printable = [](const SecretBytes& value) {
    return std::all_of(value.bytes().begin(), value.bytes().end(),
                       [](unsigned char c) { return c >= 0x21 && c <= 0x7e; });
  };
  if (key.secret.empty() || key.secret.size() > kMaxSecret || !printable(key.secret)) {
    throw Error(Code::bad_request, "the secret must be 1 to 512 characters of printable ASCII without spaces");
  }
  if (key.passphrase.empty() || key.passphrase.size() > kMaxPassphrase || !printable(key.passphrase)) {
    throw Error(Code::bad_request, "the passphrase must be 1 to 256 characters of printable ASCII without spaces");
  }
  std::string sealed = proto::seal_key(key, host);
  if (flag(invocation, "json")) {
    sealed.pop_back();
    std::cout << boost::json::serialize(boost::json::object{{"name", name}, {"to", to}, {"sealed", sealed}}) << '\n';
  } else {
    std::cout << sealed;
  }
  return kExitOk;
}

void import_options(po::options_description& options) {
  options.add_options()("json", po::bool_switch(), "print the added key's metadata as the daemon's JSON reply");
}

int import_key(Context& context, const Invocation& invocation) {
  const std::string& path = invocation.args.at(0);
  constexpr std::size_t kReadAtMost = 64 * 1024;
  const std::vector<unsigned char> bytes = read_file(path, kReadAtMost);
  const std::string text(bytes.begin(), bytes.end());
  proto::sealed_to(text);  // a file that is no sealed key is refused before anything else
  Client& client = context.client();
  client.verify_server();
  const proto::KeyInfo added = client.import_key(text);
  if (flag(invocation, "json")) std::cout << proto::encode(added) << '\n';
  say(context, "Imported key '" + added.name + "' (api key " + added.api_key + ", " +
                   (added.simulated ? "demo trading" : "live trading") + ").");
  return kExitOk;
}

int rekey(Context& context, const Invocation&) {
  if (has_passphrase_slot(context.client().status())) {
    const SecretBytes current = current_passphrase();
    context.client().rekey(&current);
  } else {
    context.client().rekey();
  }
  say(context, "Every key is re-encrypted under a new data key.");
  return kExitOk;
}

void audit_options(po::options_description& options) {
  options.add_options()(
      "head", po::value<std::string>(),
      "a head the daemon sent to the journal (HEAD=): it must be in the log, the chain intact up to it")(
      "follows", po::value<std::string>(),
      "FILE continues a rotated log whose last line has this hash: its first line must link to it")(
      "key", po::value<std::string>(), "show: only the records of this key")(
      "since", po::value<std::string>(),
      "show: only records from this long ago (1h, 30m, 2d) or this ISO 8601 time on")("denied", po::bool_switch(),
                                                                                      "show: only refusals")(
      "json", po::bool_switch(),
      "verify: print the verdict as JSON (as GET /v1/audit/verify answers it), the exit code the same; show: print "
      "the records' lines of the log as they are");
}

// What a verdict says beyond intact or broken: which lines the audit key vouches for.
void print_keying(const audit_chain::Verdict& verdict) {
  if (verdict.lines == 0) return;
  if (verdict.keyed == 0) {
    std::cout << "  no line is keyed: the log was written without the vault's audit key, and anyone who can write it "
                 "could have rewritten it (only heads kept off the host show that)\n";
    return;
  }
  std::cout << "  " << verdict.keyed << " keyed lines, " << (verdict.lines - verdict.keyed) << " unkeyed; "
            << (verdict.macs_checked ? "every mac checked with the audit key"
                                     : "macs not checked: only the daemon holds the audit key (okx-vault audit verify, "
                                       "without FILE, asks it)")
            << '\n';
  if (verdict.unkeyed_tail > 0) {
    std::cout << "  the last " << verdict.unkeyed_tail
              << " lines are unkeyed (written while the vault was locked since its start): no key vouches for them\n";
  }
}

// Where a log's chain comes from and goes on: the file it continues, and the
// hash a file rotated after it must continue from.
void print_links(const audit_chain::Verdict& verdict) {
  if (!verdict.follows.empty()) {
    std::cout << "  continues a rotated log whose last line's hash is " << verdict.follows
              << " (okx-vault audit verify MOVED-FILE shows that file's)\n";
  }
  if (!verdict.last_hash.empty()) std::cout << "  last line's hash: " << verdict.last_hash << '\n';
}

// The value of a hash option (--head, --follows): 64 lowercase hex digits.
std::optional<std::string> hash_option(const Invocation& invocation, const char* name) {
  std::optional<std::string> hash = optional_value(invocation, name);
  if (hash && (hash->size() != audit_chain::kGenesis.size() ||
               !std::all_of(hash->begin(), hash->end(), [](char c) { return std::isxdigit(c) && !std::isupper(c); }))) {
    throw UsageError(std::string("--") + name + " takes a line's hash: 64 lowercase hex digits");
  }
  return hash;
}

int audit_verify(Context& context, const Invocation& invocation) {
  const std::optional<std::string> head = hash_option(invocation, "head");
  const std::optional<std::string> follows = hash_option(invocation, "follows");
  if (invocation.args.size() < 2) {
    if (head) throw UsageError("--head needs FILE: the daemon checks the head its store recorded");
    if (follows) throw UsageError("--follows needs FILE: the daemon's own log starts with its reopen-log record");
    const audit_chain::Verdict verdict = context.client().verify_audit();
    if (flag(invocation, "json")) {
      std::cout << proto::encode(verdict) << '\n';
      return verdict.ok ? kExitOk : kExitFailure;
    }
    if (!verdict.ok) {
      std::cerr << "okx-vault: the daemon's audit log: line " << verdict.first_bad << ": " << verdict.reason << '\n';
      return kExitFailure;
    }
    std::cout << "the daemon's audit log: " << verdict.lines << " lines, chain intact";
    if (verdict.head_line > 0) std::cout << ", the store's head at line " << verdict.head_line;
    std::cout << '\n';
    print_keying(verdict);
    print_links(verdict);
    return kExitOk;
  }
  const std::string& path = invocation.args.at(1);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Code::not_found, "cannot read " + path);
  const audit_chain::Verdict verdict = audit_chain::verify(in, head, nullptr, SIZE_MAX, follows);
  if (flag(invocation, "json")) {
    std::cout << proto::encode(verdict) << '\n';
    return verdict.ok ? kExitOk : kExitFailure;
  }
  if (!verdict.ok) {
    std::cerr << "okx-vault: " << path << ": line " << verdict.first_bad << ": " << verdict.reason << '\n';
    return kExitFailure;
  }
  std::cout << path << ": " << verdict.lines << " lines, chain intact";
  if (head) std::cout << ", head at line " << verdict.head_line;
  std::cout << '\n';
  print_keying(verdict);
  print_links(verdict);
  return kExitOk;
}

// Records of the log at FILE, one line each, those that pass every filter. A
// line that is not a record is reported with its number (the first one, and how
// many), never skipped in silence: the others are shown, and the exit code is 1.
int audit_show(const Invocation& invocation) {
  for (const char* verify_only : {"head", "follows"}) {
    if (invocation.options.count(verify_only) != 0) {
      throw UsageError(std::string("--") + verify_only + " is an option of okx-vault audit verify");
    }
  }
  if (invocation.args.size() < 2) {
    throw UsageError(
        "okx-vault audit show needs FILE, the daemon's audit log: /var/lib/okx-vault/audit.log under the shipped "
        "units (okx-vaultd's --audit-log, by default STATE-DIR/audit.log); reading it needs root or the daemon's "
        "user");
  }
  AuditFilter filter;
  filter.key = optional_value(invocation, "key");
  if (const auto since = optional_value(invocation, "since")) filter.since_ms = since_ms(*since);
  filter.denied = flag(invocation, "denied");
  const bool json = flag(invocation, "json");
  const std::string& path = invocation.args.at(1);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Code::not_found, "cannot read " + path + ": " + std::strerror(errno));
  std::size_t number = 0, malformed = 0, first_malformed = 0;
  std::string reason;
  for (std::string line; std::getline(in, line);) {
    ++number;
    AuditEntry entry;
    try {
      entry = parse_audit_line(line);
    } catch (const Error& e) {
      if (malformed++ == 0) {
        first_malformed = number;
        reason = e.what();
      }
      continue;
    }
    if (!matches(entry, filter)) continue;
    if (json) {
      std::cout << line << '\n';
    } else {
      std::cout << audit_line_text(entry) << '\n';
    }
  }
  std::cout.flush();
  if (in.bad()) throw Error(Code::io_error, "cannot read " + path + " past line " + std::to_string(number));
  if (malformed == 0) return kExitOk;
  std::cerr << "okx-vault: " << path << ": line " << first_malformed << " is not an audit record (" << reason << ")";
  if (malformed > 1) std::cerr << "; " << malformed << " such lines in all";
  std::cerr << "; every other line was read\n";
  return kExitFailure;
}

int audit(Context& context, const Invocation& invocation) {
  const std::string& action = invocation.args.at(0);
  if (action == "show") return audit_show(invocation);
  if (action != "verify") throw UsageError("the audit command is: okx-vault audit verify [FILE] or audit show FILE");
  if (invocation.options.count("key") != 0 || invocation.options.count("since") != 0 || flag(invocation, "denied")) {
    throw UsageError("--key, --since and --denied are options of okx-vault audit show");
  }
  return audit_verify(context, invocation);
}

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"status", "[--json]", "show the daemon's version, lock state, key count and uptime",
       "Anyone who can connect to the socket may ask for the status.", 0, 0, json_option, status},
      {"list", "[--json]", "list keys: name, masked api key, demo flag, grants, times, signs, expiry",
       "Shows metadata only; secrets and passphrases never leave the daemon. Times are\n"
       "shown in UTC to the minute, or relative to now (\"3m ago\", \"in 29d\"); a key\n"
       "past its expiry says EXPIRED and signs nothing. --json prints the daemon's\n"
       "reply, with its exact ISO 8601 times.",
       0, 0, json_option, list},
      {"add", "NAME --api-key KEY [--simulated] [--expires WHEN] [--json]",
       "add a key; its secret and passphrase are read, never passed",
       "On a terminal, asks for the secret and the passphrase without echoing them.\n"
       "Otherwise reads them from stdin: the first line is the secret, the second the\n"
       "passphrase (a trailing \\r is dropped). There is deliberately no option for\n"
       "them: arguments are visible to every user in ps and end up in shell history.\n"
       "NAME is 1 to 64 characters of a-z 0-9 . _ - starting with a letter or digit.\n"
       "Nothing is asked or read until the name and api key are valid (else exit\n"
       "code 6), the daemon answers (3) and may be sent a secret (8), you are an\n"
       "admin (4), no key has that name (6) and the vault is unlocked (7).",
       1, 1, add_options, add, Channel::admin},
      {"import-config", "FILE --from freqtrade|octobot|ccxt-json --name NAME [--rewrite]",
       "move the OKX key of a bot's config file into the vault",
       "Reads the api key, secret and passphrase from FILE: a freqtrade config\n"
       "(exchange.key, .secret, .password, with exchange.name okx), OctoBot's\n"
       "user/config.json (exchanges.okx.api-key, .api-secret, .api-password) or a\n"
       "ccxt JSON file ({\"apiKey\", \"secret\", \"password\"}), and adds the key as\n"
       "NAME as add does: the same checks first, and the secret never on a command\n"
       "line. Then prints the change that makes the bot ask the vault: the secret\n"
       "becomes \"okx-vault:NAME\" and the passphrase \"okx-vault\" (the bot then runs\n"
       "under okx-vault-ccxt or node --require okx-vault/register). --rewrite makes\n"
       "that change in FILE itself: the original is kept as FILE.bak (mode 0600,\n"
       "holding the secret: delete it once the bot works), and FILE is replaced\n"
       "atomically, keeping its mode and owner. Refused, with nothing added, when\n"
       "FILE holds no OKX key, an encrypted one (OctoBot encrypts the keys it saves)\n"
       "or one that already uses the vault, and with --rewrite when FILE.bak exists\n"
       "or the change cannot be made in place (exit code 6).",
       1, 1, import_config_options, import_config, Channel::admin},
      {"update", "NAME --api-key KEY [--simulated] [--json]",
       "give a key a new api key, secret and passphrase, keeping its grants",
       "Rotates an OKX key without downtime: bots go on signing with the old\n"
       "credentials until the new ones are on disk, and with the new ones from then\n"
       "on. The key keeps its name, grants, expiry, demo flag and usage. The new\n"
       "secret and passphrase are read as add reads them, never passed. --simulated\n"
       "is required for a demo key and refused for a live key: an update never\n"
       "changes which kind it is (revoke the key and add it again for that).\n"
       "Nothing is asked or read until the name and api key are valid (else exit\n"
       "code 6), the daemon answers (3) and may be sent a secret (8), you are an\n"
       "admin (4), the key exists (5), --simulated matches it (6) and the vault is\n"
       "unlocked (7).",
       1, 1, update_options, update, Channel::admin},
      {"revoke", "NAME [--yes]", "revoke a key: wiped from memory and removed from disk",
       "Asks for confirmation on a terminal, once it knows the key exists and you\n"
       "may revoke it (else exit code 5 or 4, and nothing is asked). When stdin is\n"
       "not a terminal, --yes is required; without it nothing is revoked and the exit\n"
       "code is 2.",
       1, 1, revoke_options, revoke, Channel::admin},
      {"sign", "NAME METHOD PATH [--body TEXT | --body-file FILE | --body-stdin] [--json | --curl]",
       "sign one OKX V5 REST request and print its headers",
       "PATH is the request path with its query string, exactly as it will be sent\n"
       "(/api/v5/account/balance?ccy=BTC). The body is signed byte for byte: send\n"
       "exactly the bytes given here (--body-file and --body-stdin add or strip nothing).\n"
       "Prints \"Name: value\" header lines; --json prints the daemon's reply; --curl\n"
       "prints curl arguments, quoted for a shell, to be used as\n"
       "  P='/api/v5/account/balance?ccy=BTC'\n"
       "  eval \"curl $(okx-vault sign NAME GET \"$P\" --curl) \\\"https://www.okx.com\\$P\\\"\"\n"
       "The passphrase is then in curl's arguments, visible in ps while it runs:\n"
       "okx-vault curl sends the same request without that.",
       3, 3, sign_options, sign},
      {"curl", "NAME METHOD PATH [--body TEXT | --body-file FILE] [--base-url URL] [-- CURL-ARGS...]",
       "sign one OKX V5 REST request and send it with curl",
       "Signs like okx-vault sign, then runs curl (found on PATH) to send exactly the\n"
       "signed method, path and body bytes to the base URL (default\n"
       "https://www.okx.com) with the signed headers, including x-simulated-trading\n"
       "for a demo key. The headers and body go to curl as a config on its stdin\n"
       "(curl --config -), never in its arguments, where every user could read the\n"
       "passphrase. CURL-ARGS are passed before that config (-sS, --fail, -v, ...);\n"
       "curl's stdin is the config. If signing fails, curl is not run and the exit\n"
       "code is okx-vault's; otherwise it is curl's. Plain http is refused except to\n"
       "this host.",
       3, 3, curl_options, curl, Channel::any, true},
      {"ws-login", "NAME [--timestamp SECONDS] [--json]", "print a WebSocket login frame (one line of JSON)",
       "The frame is ready to send as the first message on OKX's private WebSocket.", 1, 1, ws_login_options, ws_login},
      {"grant",
       "NAME (--user U | --group G) [--read-only] [--allow RULE]... [--deny RULE]... [--expires WHEN] [--ws] "
       "[LIMIT]... [--replace]",
       "let a user or group sign with a key",
       "RULE is 'METHOD PATH-PREFIX', METHOD one of GET, POST, *: --allow \"POST /api/v5/trade/\".\n"
       "Withdrawals, transfers and sub-account key management stay refused unless an\n"
       "--allow names them (see PROTOCOL.md, \"Grants and policy\"). WHEN is 30d, 12h,\n"
       "45m, 90s or an ISO 8601 time. WebSocket login frames (okx-vault ws-login) only\n"
       "with --ws: a logged-in private WebSocket can place orders whatever the rules say.\n"
       "A LIMIT is one of the trading-limit options (--inst to --orders-per-minute):\n"
       "any of them gives the grant trading limits, which restrict the orders it may\n"
       "have signed (see PROTOCOL.md, \"Trading limits\"). PATTERN is an OKX instId\n"
       "(BTC-USDT) or a prefix of one and * (BTC-USD-*); SIZE, MIN, MAX and the\n"
       "leverage are decimals (0.5, 90000); a kind of limit not given allows any:\n"
       "  --inst BTC-USDT --max-sz BTC-USDT=0.5 --px-range BTC-USDT=10000:90000 \\\n"
       "  --ord-types limit,post_only --sides buy,sell --orders-per-minute 30\n"
       "A user or group has at most one grant per key. If it has one already, the\n"
       "command shows it and changes nothing (exit code 6), unless --replace is given;\n"
       "the same grant again is left as it is (exit code 0).",
       1, 1, grant_options, grant, Channel::admin},
      {"ungrant", "NAME (--user U | --group G)", "remove a user's or group's grant on a key",
       "Exit code 5 if the key has no grant for that user or group.", 1, 1, principal_options, ungrant, Channel::admin},
      {"grants", "NAME [--json]", "show who may sign with a key, and what", "Admin only.", 1, 1, json_option,
       show_grants, Channel::admin},
      {"lock", "", "lock the vault: the daemon wipes every secret and refuses to sign",
       "Signing and changes answer \"vault locked\" (exit code 7) until an admin\n"
       "unlocks it. Listing keys still works. okx-vault unlock unlocks it: with the\n"
       "vault passphrase if it has one, else (or with --key-file) with the daemon's\n"
       "key file. Restarting the daemon unlocks a vault whose key file it finds.",
       0, 0, no_options, lock, Channel::admin},
      {"unlock", "[--key-file]", "unlock a locked vault with its passphrase or key file",
       "Asks for the vault passphrase without echo on a terminal, otherwise reads one\n"
       "line of stdin; never from arguments. Each wrong passphrase makes the daemon\n"
       "wait longer before it answers (250 ms, doubling up to 30 s; exit code 4);\n"
       "an attempt made during that wait is refused unevaluated (exit code 3).\n"
       "A vault without a passphrase, or with --key-file, is unlocked with the\n"
       "daemon's own key file; nothing is asked.",
       0, 0, unlock_options, unlock, Channel::admin},
      {"passphrase", "set|change|remove", "add, change or remove the vault passphrase",
       "set: the vault also opens with a passphrase (asked twice on a terminal).\n"
       "change: asks for the current passphrase, then the new one.\n"
       "remove: asks for the current passphrase; refused (exit code 6) if the\n"
       "passphrase is the only way to open the vault.\n"
       "From stdin: one line per passphrase, the current one first.",
       1, 1, no_options, passphrase, Channel::admin},
      {"keyfile", "rotate", "replace the master key file with a new random key",
       "The daemon writes a new key file and re-wraps the data key for it; the old\n"
       "key file no longer opens the vault. Crash safe: at any instant the store opens\n"
       "with the old or the new key file. Refused for a systemd credential, which the\n"
       "daemon cannot write (see README.md, \"Rotating a credential\"), and for a vault\n"
       "only a passphrase opens, which has no key file to rotate (exit code 6).",
       1, 1, no_options, keyfile, Channel::admin},
      {"backup", "FILE [--key NAME]... [--force] [--json]", "write an encrypted backup of the vault's keys",
       "The daemon seals every key (or each --key) with its api key, secret,\n"
       "passphrase, demo flag, expiry, times, sign count and grants with their\n"
       "trading limits, under a backup passphrase (Argon2id, then XChaCha20-Poly1305);\n"
       "FILE holds nothing in clear but its header. The passphrase is asked twice\n"
       "without echo on a terminal, otherwise read as one line of stdin; 8 to 1024\n"
       "bytes. FILE is written mode 0600 through a temporary file and a rename, and\n"
       "an existing FILE is refused (exit code 6) unless --force. Nothing is asked\n"
       "until FILE can be written, the daemon answers (3) and may be sent a secret\n"
       "(8), you are an admin (4) and the vault is unlocked (7). A restore takes a\n"
       "backup of at most 43,008 bytes (about a hundred keys with a grant each):\n"
       "back a larger vault up in parts, with --key.",
       1, 1, backup_options, backup, Channel::admin},
      {"restore", "FILE [--rename OLD=NEW]... [--skip-existing] [--json]", "add the keys of a backup to this vault",
       "Asks for the backup passphrase (or reads one line of stdin) once FILE is\n"
       "known to be a backup this okx-vault reads, and the daemon answers, may be sent\n"
       "a secret, you are an admin and the vault is unlocked. The daemon opens the\n"
       "backup and adds every key it holds in one write, or none: a wrong passphrase\n"
       "(exit code 4), a damaged or cut file (6), a name the vault has already (6)\n"
       "each change nothing. A name clash is resolved by --skip-existing, which\n"
       "leaves out the keys whose names the vault has, or by --rename OLD=NEW, which\n"
       "restores the backup's key OLD as NEW. Grants follow their user or group by\n"
       "name, looked up on this host; one this host does not have refuses the\n"
       "restore (create it first).",
       1, 1, restore_options, restore, Channel::admin},
      {"host-key", "[--json]", "print the vault's public key, to seal keys to it elsewhere",
       "One line of base64: the X25519 public key of this vault. okx-vault seal --to\n"
       "it, on another machine, seals a key that only this vault can open. The key\n"
       "is made with the vault and kept, sealed, in its store; a rekey keeps it.\n"
       "Anyone who may connect may ask (it is public); the vault must be unlocked.",
       0, 0, host_key_options, host_key},
      {"seal", "--to HOSTKEY NAME --api-key KEY [--simulated] [--expires WHEN] [--json]",
       "seal a key to a vault's host key, with no daemon",
       "For provisioning hosts without typing secrets on them: on a workstation,\n"
       "reads the secret and passphrase as add does (no echo on a terminal, else two\n"
       "lines of stdin) and prints one line of base64 that only the vault whose\n"
       "host key is HOSTKEY can open (a libsodium sealed box; the name, api key and\n"
       "flags are sealed with them). Copy it to the host (Ansible, Salt, cloud-init)\n"
       "and run okx-vault import there. Talks to no daemon; NAME, KEY, WHEN and the\n"
       "secret and passphrase are checked as add checks them.",
       1, 1, seal_options, seal},
      {"import", "FILE [--json]", "add a key that okx-vault seal sealed to this vault",
       "The daemon opens FILE with its host key and adds the key as add does (a name\n"
       "that exists is exit code 6). A key sealed to another vault, or altered after\n"
       "it was sealed, is refused (exit code 6) and nothing is added. FILE holds no\n"
       "secret in clear; remove it once imported all the same.",
       1, 1, import_options, import_key, Channel::admin},
      {"rekey", "", "re-encrypt every key under a new random data key",
       "Every record is re-sealed and every slot re-wrapped, in one atomic write. If\n"
       "the vault has a passphrase, it is asked for (or read from stdin), so that the\n"
       "new data key is wrapped for it too.",
       0, 0, no_options, rekey, Channel::admin},
      {"audit",
       "verify [FILE] [--head HASH] [--follows HASH] [--json] | show FILE [--key NAME] [--since WHEN] [--denied] "
       "[--json]",
       "check an audit log's hash chain, or show its records",
       "Reports the first line that was edited, deleted or moved (exit code 1), or\n"
       "that the chain is intact (exit code 0), and which lines are keyed.\n"
       "Without FILE, the daemon checks its own log (admin only): every keyed\n"
       "line's mac with the vault's audit key, and that the log holds the head\n"
       "its store recorded, so a log cut or rewritten before it fails.\n"
       "With FILE, the file is read here and needs no daemon, but the macs of keyed\n"
       "lines cannot be checked without the audit key: only how they link.\n"
       "--head HASH: a head the daemon sent to the system journal (its HEAD= field,\n"
       "e.g. journalctl -u okx-vault MESSAGE_ID=4f4b5856a17d4e0d8a3c5e2b9f6a1c07 -o json):\n"
       "the log must hold that line, so a log cut before it or rewritten fails.\n"
       "A rotated log goes on in a new file whose first line, the daemon's\n"
       "reopen-log record, links to the moved file's last line: such a file verifies\n"
       "alone, and --follows HASH (the moved file's last hash, which verify prints)\n"
       "checks that it continues exactly that file.\n"
       "show: one line per record of the log at FILE, oldest first: its time in UTC\n"
       "as the log has it (ISO 8601), allow or deny, the action, the key, the peer\n"
       "(uid, pid, executable), the method and path, and the rule: the grant that\n"
       "allowed it, or what refused it. --key, --since (2d, 1h, 30m, 90s ago, or an\n"
       "ISO 8601 time) and --denied keep the records that pass all of them; --json\n"
       "prints those records' lines of the log as they are. FILE is needed: the\n"
       "CLI cannot know the daemon's log path (/var/lib/okx-vault/audit.log under the\n"
       "shipped units). A line that is not a record is reported with its number\n"
       "(exit code 1); the others are shown. show does not check the chain: verify does.",
       1, 2, audit_options, audit, Channel::admin},
  };
  return table;
}

const Command* find_command(std::string_view name) {
  for (const Command& command : commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

}  // namespace okxvault::cli
