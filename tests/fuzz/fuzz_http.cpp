// The HTTP request path in process: raw bytes through Beast's request parser
// (with the server's limits; like the server, it reads no further than the
// header of a request with Transfer-Encoding) into Handler::handle, against a
// real Vault in a temp dir holding three keys with grants, and a real Audit.
//
// The input's first byte picks the peer (peer.hpp) and whether the connection is
// an admin channel; the rest is what that peer sent on one connection, any
// number of pipelined requests. Every input starts from the same vault.
//
// Invariants, for every response: its status is one the protocol documents for
// a request (never a 5xx); an error body decodes, its code maps to that status,
// a refusal names its rule and a 405 its Allow; a success has the status and
// body shape of its endpoint (lock locks, unlock unlocks); admin-only calls,
// the vault calls among them, by anyone else are 403 forbidden;
// an admin's listing names exactly the keys that exist; every signature and
// WebSocket login verifies against the key's real secret (computed apart from
// the daemon's signer); an add, update or vault call wipes its request body. And the three keys'
// secrets never appear in a response, a log line, the audit log or the store
// file, nor their passphrases anywhere but in a signed reply of their own key,
// unless the input itself carried them.

#include <sys/stat.h>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <algorithm>
#include <array>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <map>
#include <mutex>

#include "daemon/api/handler.hpp"
#include "daemon/audit/audit.hpp"
#include "daemon/core/vault.hpp"
#include "daemon/store/store_file.hpp"
#include "proto/backup.hpp"
#include "proto/messages.hpp"
#include "proto/sealed_key.hpp"
#include "tests/fuzz/require.hpp"
#include "tests/support/process.hpp"
#include "tests/support/reference_sign.hpp"

namespace okxvault::fuzz {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

constexpr uid_t kDaemonUid = 4242;
constexpr gid_t kAdminGroup = 2500;
constexpr int kMaxRequestsPerInput = 8;

// root, the daemon's uid, the granted user 1000, a member of the granted group
// 2000, a member of the admin group, and a stranger.
const std::array<Peer, 6> kPeers{
    Peer{0, 0, 100, {0}, "/usr/bin/root-tool"},    Peer{kDaemonUid, kDaemonUid, 101, {kDaemonUid}, "/usr/sbin/x"},
    Peer{1000, 1000, 102, {1000}, "/usr/bin/bot"}, Peer{3000, 3000, 103, {3000, 2000}, "/usr/bin/group-bot"},
    Peer{5000, 5000, 104, {5000, kAdminGroup}},    Peer{6000, 6000, 105, {6000}},
};

// What the harness knows about a key, to check what the daemon says about it.
struct Account {
  std::string api_key;
  std::string secret;
  std::string passphrase;
  bool simulated = false;
};

const std::map<std::string, Account> kKeys{
    {"main", {"ak-main-5f0c9e2d7b41", "SECRET-main-Qx7vL2pR9tZ4mK8w", "PASS-main-Hy3nB6", false}},
    {"demo", {"ak-demo-8e1a3c5b7d90", "SECRET-demo-Wc5jN1sF8gD3yV6e", "PASS-demo-Ju4kM7", true}},
    {"old", {"ak-old-2b4d6f8a0c13", "SECRET-old-Tr9hX2bK5nP8qA1z", "PASS-old-Lo5pQ8", false}},
};

// The requests that make the starting vault, as an admin sends them.
const std::vector<std::tuple<http::verb, std::string, std::string>> kSetup{
    {http::verb::post, "/v1/keys",
     R"({"name":"main","api_key":"ak-main-5f0c9e2d7b41","secret":"SECRET-main-Qx7vL2pR9tZ4mK8w","passphrase":"PASS-main-Hy3nB6"})"},
    {http::verb::post, "/v1/keys",
     R"({"name":"demo","api_key":"ak-demo-8e1a3c5b7d90","secret":"SECRET-demo-Wc5jN1sF8gD3yV6e","passphrase":"PASS-demo-Ju4kM7","simulated":true})"},
    {http::verb::post, "/v1/keys",
     R"({"name":"old","api_key":"ak-old-2b4d6f8a0c13","secret":"SECRET-old-Tr9hX2bK5nP8qA1z","passphrase":"PASS-old-Lo5pQ8","expires":"2001-02-03T04:05:06.789Z"})"},
    {http::verb::put, "/v1/keys/main/grants",
     R"({"grants":[{"user":"1000"},{"group":"2000","read_only":true,"allow":["GET /api/v5/account/"]}]})"},
    {http::verb::put, "/v1/keys/demo/grants",
     R"({"grants":[{"user":"1000","deny":["POST /api/v5/trade/"],"ws":false,"expires":"2199-01-01T00:00:00.000Z"},)"
     R"({"group":"2000","allow":["POST /api/v5/asset/withdrawal"]}]})"},
    {http::verb::put, "/v1/keys/old/grants", R"({"grants":[{"user":"1000"}]})"},
};

// Every log line the daemon's code writes, to be searched for secrets.
class LogCapture final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string take() {
    std::lock_guard lock(mutex_);
    return std::exchange(text_, {});
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    text_.append(msg.payload.data(), msg.payload.size());
    text_ += '\n';
  }
  void flush_() override {}

 private:
  std::string text_;
};

// The input as the bytes a client sent: read_some hands out what is left, then
// the end of the stream.
class MemoryStream {
 public:
  explicit MemoryStream(std::string_view bytes) : rest_(bytes) {}
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    const std::size_t n = asio::buffer_copy(buffers, asio::buffer(rest_.data(), rest_.size()));
    rest_.remove_prefix(n);
    ec = n == 0 ? beast::error_code(asio::error::eof) : beast::error_code();
    return n;
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view rest_;
};

// Where a request goes, worked out independently of the handler's dispatch.
enum class Route {
  status,
  list,
  add,
  remove,
  get_grants,
  put_grants,
  update,
  sign,
  ws_login,
  metrics,
  audit_verify,
  lock,
  unlock,
  set_passphrase,
  remove_passphrase,
  rotate_key_file,
  rekey,  // the vault calls: admin, 200 + status
  backup,
  restore,
  host_key,
  import,
  none,
  not_ascii
};

struct Target {
  Route route = Route::none;
  std::string name;
};

Target route_of(http::verb verb, std::string_view target) {
  if (!std::all_of(target.begin(), target.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    return {Route::not_ascii};
  }
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/v1/status") return {verb == http::verb::get ? Route::status : Route::none};
  const bool post = verb == http::verb::post;
  if (path == "/v1/metrics") return {verb == http::verb::get ? Route::metrics : Route::none};
  if (path == "/v1/audit/verify") return {verb == http::verb::get ? Route::audit_verify : Route::none};
  if (path == "/v1/lock") return {post ? Route::lock : Route::none};
  if (path == "/v1/unlock") return {post ? Route::unlock : Route::none};
  if (path == "/v1/slots/key-file/rotate") return {post ? Route::rotate_key_file : Route::none};
  if (path == "/v1/rekey") return {post ? Route::rekey : Route::none};
  if (path == "/v1/backup") return {post ? Route::backup : Route::none};
  if (path == "/v1/restore") return {post ? Route::restore : Route::none};
  if (path == "/v1/host-key") return {verb == http::verb::get ? Route::host_key : Route::none};
  if (path == "/v1/import") return {post ? Route::import : Route::none};
  if (path == "/v1/slots/passphrase") {
    return {verb == http::verb::put       ? Route::set_passphrase
            : verb == http::verb::delete_ ? Route::remove_passphrase
                                          : Route::none};
  }
  if (path == "/v1/keys") {
    return {verb == http::verb::get ? Route::list : verb == http::verb::post ? Route::add : Route::none};
  }
  constexpr std::string_view prefix = "/v1/keys/";
  if (!path.starts_with(prefix)) return {};
  const std::string_view rest = path.substr(prefix.size());
  const std::size_t slash = rest.find('/');
  const std::string name(rest.substr(0, slash));
  if (slash == std::string_view::npos) return {verb == http::verb::delete_ ? Route::remove : Route::none, name};
  const std::string_view action = rest.substr(slash + 1);
  if (action == "sign" && verb == http::verb::post) return {Route::sign, name};
  if (action == "ws-login" && verb == http::verb::post) return {Route::ws_login, name};
  if (action == "grants" && verb == http::verb::get) return {Route::get_grants, name};
  if (action == "grants" && verb == http::verb::put) return {Route::put_grants, name};
  if (action == "credentials" && verb == http::verb::put) return {Route::update, name};
  return {};
}

bool vault_call(Route route) { return route >= Route::lock && route <= Route::rekey; }

bool admin_only(Route route) {
  return route == Route::add || route == Route::update || route == Route::remove || route == Route::get_grants ||
         route == Route::put_grants || route == Route::metrics || route == Route::audit_verify || vault_call(route) ||
         route == Route::backup || route == Route::restore || route == Route::import;
}

// A reply that does not decode breaks an invariant; it is no exception to stop on.
template <class Decode>
auto decoded(Decode decode, std::string_view text, std::string_view invariant) {
  try {
    return decode(text);
  } catch (const Error&) {
    require(false, invariant);
    throw;
  }
}

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class Fixture {
 public:
  Fixture() : log_(std::make_shared<LogCapture>()), audit_(dir_ / "audit.log") {
    master_key_ = create_key_file(key_file());
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("fuzz", log_));
    {
      auto vault = Vault::create(store_path(), master_key_);
      const Handler handler(*vault, audit_, options());
      for (const auto& [verb, target, body] : kSetup) {
        Request request{verb, target, 11};
        request.body() = body;
        request.prepare_payload();
        require(handler.handle(request, kPeers[0]).result() < http::status::bad_request, "setup request succeeds");
      }
    }
    start_ = read_private_file(store_path());
  }

  std::filesystem::path store_path() const { return dir_ / "vault.store"; }
  std::filesystem::path key_file() const { return dir_ / "master.key"; }
  HandlerOptions options() const {
    HandlerOptions options{std::chrono::seconds(30), kDaemonUid, kAdminGroup, key_file()};
    options.passphrase_cost = store::kTestPassphraseCost;
    options.backup_cost = proto::kTestBackupCost;
    return options;
  }

  // The starting vault. Opening it costs more than everything else an input
  // does, so it is reopened from the starting store file only after a change.
  Vault& vault() {
    if (changed_) {
      test::write_file(store_path(), std::string(start_.begin(), start_.end()));
      test::write_file(key_file(), std::string(master_key_.reveal()));  // a rotation replaced it
      ::chmod(store_path().c_str(), 0600);
      ::chmod(key_file().c_str(), 0600);
      vault_ = Vault::open(store_path(), master_key_);
      key_audit_log(*vault_, audit_);  // the same key each time: the starting store's
      changed_ = false;
    }
    return *vault_;
  }
  void changed() { changed_ = true; }

  Audit& audit() { return audit_; }
  std::string take_log() { return log_->take(); }
  std::string take_audit() {
    audit_.flush();
    const auto path = dir_ / "audit.log";
    std::string text = test::read_file(path);
    std::filesystem::resize_file(path, 0);  // appends go on at the new end
    return text;
  }

 private:
  test::TempDir dir_;
  SecretBytes master_key_;
  std::shared_ptr<LogCapture> log_;
  Audit audit_;
  std::vector<unsigned char> start_;
  std::unique_ptr<Vault> vault_;
  bool changed_ = true;
};

// One connection's worth of requests, checked one by one.
class Session {
 public:
  Session(Fixture& fixture, std::string_view input, const Peer& peer, bool admin_channel)
      : fixture_(fixture),
        input_(input),
        peer_(peer),
        admin_(admin_channel && (peer.uid == 0 || peer.uid == kDaemonUid || peer.in_group(kAdminGroup))),
        admin_channel_(admin_channel),
        handler_(fixture.vault(), fixture.audit(), fixture.options()),
        keys_(kKeys) {}

  void run(std::string_view bytes) {
    MemoryStream stream(bytes);
    beast::flat_buffer buffer;
    for (int i = 0; i < kMaxRequestsPerInput; ++i) {
      http::request_parser<WipingBody> parser;
      parser.header_limit(proto::kMaxHeaderBytes);
      parser.body_limit(proto::kMaxBodyBytes);
      beast::error_code ec;
      http::read_header(stream, buffer, parser, ec);
      if (ec) break;  // the server answers a malformed request and closes
      if (parser.get().count(http::field::transfer_encoding) != 0) break;  // so it does any transfer coding
      http::read(stream, buffer, parser, ec);
      if (ec) break;
      Request request = parser.release();
      if (!exchange(request)) break;
    }
    const std::string store = test::read_file(fixture_.store_path());
    const std::string log = fixture_.take_log();
    const std::string audit = fixture_.take_audit();
    for (std::size_t from = 0, end; (end = audit.find('\n', from)) != std::string::npos; from = end + 1) {
      boost::system::error_code ec;
      boost::json::parse(std::string_view(audit).substr(from, end - from), ec);
      require(!ec, "every audit line is JSON");
    }
    for (const auto& [name, key] : kKeys) {
      require(count(store, key.secret) == 0 && count(store, key.passphrase) == 0, "the store file is encrypted");
      for (const std::string& secret : {key.secret, key.passphrase}) {
        require_hidden(secret, log, "no secret or passphrase in a log line");
        require_hidden(secret, audit, "no secret or passphrase in the audit log");
      }
    }
  }

 private:
  // Returns whether the connection stays open.
  bool exchange(Request& request) {
    const std::string body(request.body());
    const Target target = route_of(request.method(), request.target());
    const Response response = handler_.handle(request, peer_, admin_channel_);
    if (admin_only(target.route)) fixture_.changed();  // whatever the answer, start the next input afresh
    // A lock takes no body; every other vault call may carry passphrases.
    if (target.route == Route::add || target.route == Route::update ||
        (vault_call(target.route) && target.route != Route::lock)) {
      require(request.body().empty(), "a body that may carry secrets is wiped");
    }

    require(response.version() == request.version(), "the reply has the request's HTTP version");
    require(response.keep_alive() == request.keep_alive(), "the reply keeps the connection as the request asked");
    check_secrets(response, target);
    const unsigned status = response.result_int();
    if (status >= 400) {
      check_error(response, target);
    } else {
      check_success(response, target, body);
    }
    return response.keep_alive();
  }

  // An admin sees every key; anyone else only the keys a grant names them in, as the listing shows.
  std::size_t visible_keys() {
    if (admin_) return keys_.size();
    Request list{http::verb::get, "/v1/keys", 11};
    const Response response = handler_.handle(list, peer_, admin_channel_);
    if (response.result() != http::status::ok) return 0;
    return decoded(proto::decode_key_list, response.body(), "a listing decodes").size();
  }

  void require_hidden(std::string_view secret, std::string_view text, std::string_view invariant) const {
    require(count(text, secret) == 0 || count(input_, secret) > 0, invariant);
  }

  void check_secrets(const Response& response, const Target& target) const {
    std::string everything(response.body());
    for (const auto& field : response) everything += std::string(field.value()) + "\n";
    for (const auto& [name, key] : kKeys) {
      require_hidden(key.secret, everything, "no secret in a response");
      const bool own_signed_reply = response.result() == http::status::ok && target.name == name &&
                                    (target.route == Route::sign || target.route == Route::ws_login);
      if (own_signed_reply) {
        // The passphrase the key has now: an update's, if the input made one.
        const std::string& passphrase = account(name).passphrase;
        require(count(everything, passphrase) == 1 || count(input_, passphrase) > 0,
                "a signed reply carries its key's passphrase once");
        if (passphrase != key.passphrase)
          require_hidden(key.passphrase, everything, "an updated key's old passphrase is gone");
      } else {
        require_hidden(key.passphrase, everything, "no passphrase outside its key's signed reply");
      }
    }
  }

  void check_error(const Response& response, const Target& target) const {
    const unsigned status = response.result_int();
    static constexpr std::array<unsigned, 7> kRequestErrors{400, 403, 404, 405, 409, 423, 429};
    const proto::ErrorReply error = decoded(proto::decode_error, response.body(), "an error body decodes");
    // The store and key file are the fuzzer's own and consistent: only the calls
    // that reread them may fail as the protocol says they can.
    const bool store_error = error.code == Code::io_error || error.code == Code::wrong_master_key ||
                             error.code == Code::tampered_store;
    require(std::find(kRequestErrors.begin(), kRequestErrors.end(), status) != kRequestErrors.end() ||
                (store_error && (target.route == Route::unlock || target.route == Route::rekey)),
            "an error status is a documented request error, never a 5xx");
    require(response[http::field::content_type] == "application/json", "an error is JSON");
    require(http_status(error.code) == static_cast<int>(status), "an error's code maps to its status");
    require(!error.message.empty(), "an error has a message");
    if (error.code == Code::policy_denied || error.code == Code::key_expired) {
      require(!error.rule.empty(), "a refusal names its rule");
    }
    if (status == 405) require(!response[http::field::allow].empty(), "a 405 lists the allowed methods");
    if (target.route == Route::none) require(status == 404 || status == 405, "an unknown route is 404 or 405");
    if (target.route == Route::not_ascii) require(error.code == Code::bad_request, "a non-ASCII target is refused");
    if (admin_only(target.route) && !admin_) require(error.code == Code::forbidden, "admin calls are for admins");
  }

  void check_success(const Response& response, const Target& target, const std::string& body) {
    require(target.route != Route::none && target.route != Route::not_ascii, "only known routes succeed");
    require(!admin_only(target.route) || admin_, "only admins succeed at admin calls");
    if (target.route == Route::remove) {
      require(response.result() == http::status::no_content && response.body().empty(), "a revoke is 204");
      require(keys_.erase(target.name) == 1, "only an existing key is revoked");
      return;
    }
    const http::status expected = target.route == Route::add || target.route == Route::import ? http::status::created
                                                                                              : http::status::ok;
    require(response.result() == expected, "a success has its endpoint's status");
    if (target.route == Route::metrics) {
      require(response[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8",
              "metrics are Prometheus text");
      require(response.body().find("\nokxvault_keys " + std::to_string(keys_.size()) + "\n") != std::string::npos,
              "metrics count the keys");
      return;
    }
    require(response[http::field::content_type] == "application/json", "a reply is JSON");
    switch (target.route) {
      case Route::audit_verify:  // the log is emptied after each input, so only its form is checked
        decoded(proto::decode_audit_verdict, response.body(), "an audit verdict decodes");
        break;
      case Route::status:
        require(decoded(proto::decode_status, response.body(), "status decodes").keys == visible_keys(),
                "status counts the keys the caller may see");
        break;
      case Route::lock:
      case Route::unlock:
      case Route::set_passphrase:
      case Route::remove_passphrase:
      case Route::rotate_key_file:
      case Route::rekey: {
        const proto::StatusReply status = decoded(proto::decode_status, response.body(), "status decodes");
        if (target.route == Route::lock) require(status.locked, "locking locks");
        if (target.route == Route::unlock) require(!status.locked, "unlocking unlocks");
        break;
      }
      case Route::list: {
        const auto listed = decoded(proto::decode_key_list, response.body(), "a listing decodes");
        for (const proto::KeyInfo& info : listed) require(keys_.contains(info.name), "only existing keys are listed");
        if (admin_) require(listed.size() == keys_.size(), "an admin sees every key");
        break;
      }
      case Route::add: {
        const proto::AddKeyRequest added = proto::decode_add_key(body);
        require(decoded(proto::decode_key_info, response.body(), "an added key decodes").name == added.name,
                "an add answers with the new key");
        const bool inserted = keys_
                                  .emplace(added.name, Account{added.api_key, std::string(added.secret.reveal()),
                                                               std::string(added.passphrase.reveal()), added.simulated})
                                  .second;
        require(inserted, "a new key's name was free");
        break;
      }
      case Route::update: {
        const proto::UpdateKeyRequest update = proto::decode_update_key(body);
        require(decoded(proto::decode_key_info, response.body(), "an updated key decodes").name == target.name,
                "an update answers with the key");
        const auto it = keys_.find(target.name);
        require(it != keys_.end(), "only an existing key is updated");
        require(it->second.simulated == update.simulated, "an update keeps the demo flag");
        it->second = {update.api_key, std::string(update.secret.reveal()), std::string(update.passphrase.reveal()),
                      update.simulated};
        break;
      }
      case Route::get_grants:
      case Route::put_grants:
        decoded(proto::decode_grants, response.body(), "grants decode");
        require(keys_.contains(target.name), "grants exist only on existing keys");
        break;
      case Route::backup: {
        const proto::BackupReply reply = decoded(proto::decode_backup_reply, response.body(), "a backup decodes");
        require(reply.keys <= keys_.size() && proto::read_backup_header(reply.backup).keys == reply.keys,
                "a backup holds the keys it says");
        break;
      }
      case Route::restore:
        check_restore(response, body);
        break;
      case Route::host_key:
        require(proto::decode_host_key(
                    decoded(proto::decode_host_key_reply, response.body(), "a host key decodes").public_key) ==
                    fixture_.vault().host_key()->public_key,
                "the host key is the vault's");
        break;
      case Route::import: {
        const std::optional<Vault::HostKeyPair> host = fixture_.vault().host_key();
        require(host.has_value(), "an unlocked vault has a host key");
        const proto::SealedKey key =
            proto::open_sealed_key(proto::decode_import_request(body).sealed, host->public_key, host->secret_key);
        require(decoded(proto::decode_key_info, response.body(), "an imported key decodes").name == key.name,
                "an import answers with the new key");
        const bool inserted = keys_
                                  .emplace(key.name, Account{key.api_key, std::string(key.secret.reveal()),
                                                             std::string(key.passphrase.reveal()), key.simulated})
                                  .second;
        require(inserted, "an imported key's name was free");
        break;
      }
      case Route::sign:
        check_signature(response, target, body);
        break;
      case Route::ws_login:
        check_login(response, target);
        break;
      default:
        break;
    }
  }

  const Account& account(const std::string& name) const {
    const auto it = keys_.find(name);
    require(it != keys_.end(), "only an existing key signs");
    return it->second;
  }

  void check_signature(const Response& response, const Target& target, const std::string& body) const {
    const Account& key = account(target.name);
    const proto::SignRequest request = proto::decode_sign(body);
    const proto::SignReply reply = decoded(proto::decode_sign_reply, response.body(), "a sign reply decodes");
    std::map<std::string, std::string> headers(reply.headers.begin(), reply.headers.end());
    require(headers.size() == reply.headers.size(), "each header once");
    require(headers["OK-ACCESS-KEY"] == key.api_key, "signed with the key's api key");
    require(headers["OK-ACCESS-PASSPHRASE"] == key.passphrase, "the key's passphrase");
    require(headers["OK-ACCESS-TIMESTAMP"] == reply.timestamp, "the reply's timestamp is the signed one");
    require(!request.timestamp || *request.timestamp == reply.timestamp, "a client's timestamp is kept");
    require(headers["OK-ACCESS-SIGN"] ==
                test::okx_signature(key.secret, reply.timestamp + request.method + request.path + request.body),
            "the signature verifies against the key's secret");
    require(headers.contains("x-simulated-trading") == key.simulated, "demo keys, and only they, say so");
    require(headers.contains("Content-Type") == (request.method == "POST"), "a POST has its Content-Type");
  }

  // A restore adds the keys its reply names, with the credentials the backup holds.
  void check_restore(const Response& response, const std::string& body) {
    const proto::RestoreReply reply = decoded(proto::decode_restore_reply, response.body(), "a restore decodes");
    const proto::RestoreRequest request = proto::decode_restore_request(body);
    for (const proto::BackupKey& key : proto::open_backup(request.backup, request.passphrase)) {
      std::string name = key.name;
      for (const proto::Rename& rename : request.rename) {
        if (rename.from == key.name) name = rename.to;
      }
      const bool restored = std::any_of(reply.restored.begin(), reply.restored.end(),
                                        [&](const proto::KeyInfo& info) { return info.name == name; });
      if (!restored) continue;
      const bool inserted = keys_
                                .emplace(name, Account{key.api_key, std::string(key.secret.reveal()),
                                                       std::string(key.passphrase.reveal()), key.simulated})
                                .second;
      require(inserted, "a restored key's name was free");
    }
  }

  void check_login(const Response& response, const Target& target) const {
    const Account& key = account(target.name);
    const proto::WsLoginFrame frame =
        decoded(proto::decode_ws_login_frame, response.body(), "a WebSocket login frame decodes");
    require(frame.api_key == key.api_key && frame.passphrase == key.passphrase, "the key's login");
    require(frame.sign == test::okx_signature(key.secret, frame.timestamp + "GET/users/self/verify"),
            "the login signature verifies against the key's secret");
  }

  Fixture& fixture_;
  std::string_view input_;
  const Peer& peer_;
  const bool admin_;
  const bool admin_channel_;
  Handler handler_;
  std::map<std::string, Account> keys_;
};

}  // namespace
}  // namespace okxvault::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace okxvault::fuzz;
  if (size == 0) return 0;
  static Fixture fixture;
  // '0'..'5' pick a peer on the admin channel, 'P'..'U' the same peers without it.
  const okxvault::Peer& peer = kPeers[(data[0] & 0x0f) % kPeers.size()];
  const bool admin_channel = (data[0] & 0x40) == 0;
  const std::string_view input = as_text(data, size);
  Session(fixture, input, peer, admin_channel).run(input.substr(1));
  return 0;
}
