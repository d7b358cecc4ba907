#include "client/client.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace okxvault {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = asio::local::stream_protocol;

std::string resolve_socket_path(std::optional<std::string> explicit_path) {
  if (explicit_path && !explicit_path->empty()) return *explicit_path;
  if (const char* env = std::getenv(std::string(proto::kSocketEnv).c_str()); env != nullptr && *env != '\0') {
    return env;
  }
  return std::string(proto::kDefaultSocket);
}

namespace {

// Any GET, and POST /v1/keys/{name}/sign or /ws-login (names are percent-encoded).
bool repeatable(http::verb method, std::string_view target) {
  if (method == http::verb::get) return true;
  constexpr std::string_view kKeys = "/v1/keys/";
  if (method != http::verb::post || !target.starts_with(kKeys)) return false;
  const std::string_view rest = target.substr(kKeys.size());
  const std::size_t slash = rest.find('/');
  return slash != std::string_view::npos && (rest.substr(slash + 1) == "sign" || rest.substr(slash + 1) == "ws-login");
}

// Who may be sent a secret: a server running as root, as this user, or as the
// user that owns both the socket file and its directory (a daemon that bound its
// own socket). Every directory on the way to the socket must belong to root, to
// this user or to that server, and group and others may not write to it unless
// it is sticky (then they cannot replace what they do not own). Otherwise
// another user could have bound the socket path first.
[[noreturn]] void refuse_server(const std::string& socket_path, const std::string& why) {
  throw Error(Code::untrusted_server,
              "not sending a secret to " + socket_path + ": " + why + " (see README.md, \"Who gets a secret\")");
}

void check_server(int fd, const std::string& socket_path) {
  const auto refuse = [&](const std::string& why) { refuse_server(socket_path, why); };
  ucred peer{};
  socklen_t size = sizeof peer;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) refuse("its server's credentials are unknown");
  std::error_code ec;
  const std::filesystem::path socket = std::filesystem::canonical(socket_path, ec);
  if (ec) refuse("cannot resolve the path: " + ec.message());
  struct stat file {
  }, dir{};
  if (::stat(socket.c_str(), &file) != 0 || ::stat(socket.parent_path().c_str(), &dir) != 0) {
    refuse("cannot stat the socket or its directory");
  }
  const uid_t me = ::getuid();
  const bool owns_its_socket = peer.uid == file.st_uid && peer.uid == dir.st_uid;
  if (peer.uid != 0 && peer.uid != me && !owns_its_socket) {
    refuse("it is served by uid " + std::to_string(peer.uid) +
           ", neither root, nor you, nor the owner of both the socket and its directory");
  }
  for (std::filesystem::path at = socket.parent_path();; at = at.parent_path()) {
    struct stat st {};
    if (::stat(at.c_str(), &st) != 0) refuse("cannot stat " + at.string());
    if (st.st_uid != 0 && st.st_uid != me && st.st_uid != peer.uid) {
      refuse(at.string() + " belongs to uid " + std::to_string(st.st_uid));
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
      refuse("group or others may write to " + at.string() + ", and so replace the socket");
    }
    if (at == at.parent_path()) break;
  }
}

}  // namespace

struct Client::Connection {
  asio::io_context io;
  beast::basic_stream<local> stream{io};
  beast::flat_buffer buffer;
  bool used = false;     // a request has gone over it: the daemon may have closed it while idle
  bool trusted = false;  // check_server() passed for it

  // Runs one asynchronous operation to completion under the stream's deadline.
  template <typename Start>
  beast::error_code run(std::chrono::milliseconds timeout, Start start) {
    beast::error_code result;
    stream.expires_after(timeout);
    start([&](beast::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }
};

Client::Client(std::string socket_path, std::chrono::milliseconds timeout)
    : socket_path_(std::move(socket_path)), timeout_(timeout) {}
Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

Client::Connection& Client::connect(std::chrono::milliseconds timeout) {
  if (!connection_) {
    connection_ = std::make_unique<Connection>();
    const auto ec = connection_->run(timeout, [&](auto handler) {
      connection_->stream.async_connect(local::endpoint(socket_path_), handler);
    });
    if (ec) {
      connection_.reset();
      throw Error(Code::unreachable, "cannot connect to okx-vaultd at " + socket_path_ + ": " + ec.message());
    }
  }
  return *connection_;
}

void Client::trust(Connection& c) {
  if (c.trusted) return;
  try {
    check_server(c.stream.socket().native_handle(), socket_path_);
  } catch (const Error&) {
    connection_.reset();
    throw;
  }
  c.trusted = true;
}

void Client::verify_server() { trust(connect(timeout_)); }

Client::RawReply Client::request(std::string_view method, std::string_view target, std::string_view body) {
  return exchange(method, target, body, timeout_);
}

Client::RawReply Client::exchange(std::string_view method, std::string_view target, std::string_view body,
                                  std::chrono::milliseconds timeout, bool secret) {
  http::request<http::span_body<const char>> req{http::string_to_verb(method), target, 11};
  if (req.method() == http::verb::unknown) throw Error(Code::bad_request, "unknown HTTP method");
  req.set(http::field::host, "okx-vault");
  req.set(http::field::content_type, "application/json");
  req.body() = {body.data(), body.size()};
  req.keep_alive(true);
  req.prepare_payload();

  for (int attempt = 0;; ++attempt) {
    Connection& c = connect(timeout);
    if (secret) trust(c);
    const bool reused = c.used;
    c.used = true;
    http::response<http::string_body> res;
    auto read_reply = [&] {
      return c.run(timeout, [&](auto handler) { http::async_read(c.stream, c.buffer, res, handler); });
    };
    auto ec = c.run(timeout, [&](auto handler) { http::async_write(c.stream, req, handler); });
    const bool sent = !ec;
    if (!ec) {
      ec = read_reply();
    } else if (ec == asio::error::broken_pipe || ec == asio::error::connection_reset) {
      // The daemon refuses some requests before reading all of them (a body over
      // its limit: 413) and closes; the reply it sent first is still ours to read.
      if (!read_reply()) {
        connection_.reset();
        return RawReply{static_cast<int>(res.result_int()), std::move(res.body())};
      }
    }
    if (!ec) {
      // The branch above returned whatever it moved from res, and left ec set.
      // NOLINTNEXTLINE(clang-analyzer-cplusplus.Move)
      if (!res.keep_alive()) connection_.reset();
      return RawReply{static_cast<int>(res.result_int()), std::move(res.body())};
    }
    connection_.reset();
    // A kept-alive connection that closed under us is retried once, on a new
    // connection, only where that cannot do anything twice: when the request
    // was never wholly written (the daemon closed it while idle; no handler
    // saw an incomplete request), or when repeating it is harmless (reads,
    // and sign and ws-login, which change nothing but the usage counter).
    // Otherwise the daemon may have done it and only its reply was lost: an add
    // or revoke sent again would answer 409 or 404 for work that succeeded.
    const bool dropped = ec == http::error::end_of_stream || ec == asio::error::eof ||
                         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
    if (reused && dropped && attempt == 0 && (!sent || repeatable(req.method(), target))) continue;
    if (ec == beast::error::timeout) {
      throw Error(Code::unreachable, "okx-vaultd at " + socket_path_ + " did not answer in time");
    }
    throw Error(Code::unreachable, "lost the connection to okx-vaultd at " + socket_path_ + ": " + ec.message());
  }
}

std::string Client::expect(RawReply reply, int status) {
  if (reply.status == status) return std::move(reply.body);
  proto::ErrorReply error;
  try {
    error = proto::decode_error(reply.body);
  } catch (const Error&) {
    throw Error(Code::protocol_error,
                "okx-vaultd answered HTTP " + std::to_string(reply.status) + " without an error body");
  }
  throw Error(error.code, error.message, std::move(error.rule));
}

namespace {

// Replies that do not parse are the daemon's fault, not the caller's input.
template <typename Decode>
auto decode_reply(Decode decode, const std::string& body) {
  try {
    return decode(body);
  } catch (const Error& e) {
    throw Error(Code::protocol_error, std::string("unexpected reply from okx-vaultd: ") + e.what());
  }
}

// The name is percent-encoded: a name holding '?', '/' or '#' must not change
// which endpoint or which key a request reaches ("revoke a?x" must not revoke "a").
std::string key_target(std::string_view name, std::string_view action = {}) {
  std::string target = "/v1/keys/";
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      target += c;
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      target += '%';
      target += kHex[u >> 4];
      target += kHex[u & 0xF];
    }
  }
  if (!action.empty()) {
    target += '/';
    target += action;
  }
  return target;
}

}  // namespace

proto::StatusReply Client::status() {
  return decode_reply(proto::decode_status, expect(request("GET", "/v1/status"), 200));
}

audit_chain::Verdict Client::verify_audit() {
  return decode_reply(proto::decode_audit_verdict, expect(request("GET", "/v1/audit/verify"), 200));
}

std::vector<proto::KeyInfo> Client::list() {
  return decode_reply(proto::decode_key_list, expect(request("GET", "/v1/keys"), 200));
}

proto::KeyInfo Client::add(const proto::AddKeyRequest& add_request) {
  const SecretBytes body = proto::encode(add_request);
  return decode_reply(proto::decode_key_info, expect(exchange("POST", "/v1/keys", body.reveal(), timeout_, true), 201));
}

proto::KeyInfo Client::update(std::string_view name, const proto::UpdateKeyRequest& update_request) {
  const SecretBytes body = proto::encode(update_request);
  return decode_reply(proto::decode_key_info,
                      expect(exchange("PUT", key_target(name, "credentials"), body.reveal(), timeout_, true), 200));
}

void Client::revoke(std::string_view name) { expect(request("DELETE", key_target(name)), 204); }

proto::SignReply Client::sign(std::string_view name, const proto::SignRequest& sign_request) {
  return decode_reply(proto::decode_sign_reply,
                      expect(request("POST", key_target(name, "sign"), proto::encode(sign_request)), 200));
}

std::string Client::ws_login(std::string_view name, std::optional<std::string> timestamp) {
  return expect(
      request("POST", key_target(name, "ws-login"), proto::encode(proto::WsLoginRequest{std::move(timestamp)})), 200);
}

proto::StatusReply Client::vault_call(std::string_view method, std::string_view target,
                                      const proto::PassphraseRequest& body) {
  // Argon2id plus the daemon's delay after wrong passphrases (up to 30 s).
  constexpr std::chrono::milliseconds kSlowCall{60'000};
  const SecretBytes text = proto::encode(body);
  const bool secret = !body.passphrase.empty() || !body.new_passphrase.empty();
  return decode_reply(proto::decode_status,
                      expect(exchange(method, target, text.reveal(), std::max(timeout_, kSlowCall), secret), 200));
}

proto::StatusReply Client::lock() { return vault_call("POST", "/v1/lock", {}); }

proto::StatusReply Client::unlock(const SecretBytes& passphrase) {
  return vault_call("POST", "/v1/unlock", {SecretBytes::copy_of(passphrase.bytes()), {}});
}

proto::StatusReply Client::unlock_with_key_file() { return vault_call("POST", "/v1/unlock", {}); }

proto::StatusReply Client::set_passphrase(const SecretBytes& passphrase) {
  return vault_call("PUT", "/v1/slots/passphrase", {{}, SecretBytes::copy_of(passphrase.bytes())});
}

proto::StatusReply Client::change_passphrase(const SecretBytes& current, const SecretBytes& passphrase) {
  return vault_call("PUT", "/v1/slots/passphrase",
                    {SecretBytes::copy_of(current.bytes()), SecretBytes::copy_of(passphrase.bytes())});
}

proto::StatusReply Client::remove_passphrase(const SecretBytes& current) {
  return vault_call("DELETE", "/v1/slots/passphrase", {SecretBytes::copy_of(current.bytes()), {}});
}

proto::StatusReply Client::rotate_key_file() { return vault_call("POST", "/v1/slots/key-file/rotate", {}); }

proto::StatusReply Client::rekey(const SecretBytes* passphrase) {
  return vault_call("POST", "/v1/rekey", {passphrase ? SecretBytes::copy_of(passphrase->bytes()) : SecretBytes{}, {}});
}

proto::BackupReply Client::backup(const SecretBytes& passphrase, const std::vector<std::string>& keys) {
  constexpr std::chrono::milliseconds kSlowCall{60'000};
  const SecretBytes body = proto::encode(proto::BackupRequest{SecretBytes::copy_of(passphrase.bytes()), keys});
  return decode_reply(proto::decode_backup_reply,
                      expect(exchange("POST", "/v1/backup", body.reveal(), std::max(timeout_, kSlowCall), true), 200));
}

proto::RestoreReply Client::restore(const proto::RestoreRequest& request) {
  constexpr std::chrono::milliseconds kSlowCall{60'000};
  const SecretBytes body = proto::encode(request);
  return decode_reply(proto::decode_restore_reply,
                      expect(exchange("POST", "/v1/restore", body.reveal(), std::max(timeout_, kSlowCall), true), 200));
}

std::string Client::host_key() {
  return decode_reply(proto::decode_host_key_reply, expect(request("GET", "/v1/host-key"), 200)).public_key;
}

proto::KeyInfo Client::import_key(std::string_view sealed) {
  return decode_reply(proto::decode_key_info,
                      expect(request("POST", "/v1/import", proto::encode(proto::ImportRequest{std::string(sealed)})),
                             201));
}

std::vector<proto::GrantInfo> Client::grants(std::string_view name) {
  return decode_reply(proto::decode_grants_reply, expect(request("GET", key_target(name, "grants")), 200));
}

std::vector<proto::GrantInfo> Client::set_grants(std::string_view name, const std::vector<proto::GrantInfo>& grants) {
  return decode_reply(proto::decode_grants_reply,
                      expect(request("PUT", key_target(name, "grants"), proto::encode(grants)), 200));
}

}  // namespace okxvault
