#include "daemon/handler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "daemon/signer.hpp"
#include "proto/messages.hpp"

namespace okxvault {
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kKeysPrefix = "/v1/keys/";
constexpr std::size_t kMaxRequestPath = 4096;

Response json_response(const Request& request, http::status status, std::string body) {
  Response response{status, request.version()};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(request.keep_alive());
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response method_not_allowed(const Request& request, std::string_view allowed) {
  Response response = Handler::error_response(
      Code::method_not_allowed, "method " + std::string(request.method_string()) + " is not allowed here",
      request.version(), request.keep_alive());
  response.set(http::field::allow, allowed);
  return response;
}

// OKX V5 signs only GET and POST; the path is what the bot will put on the wire.
void validate_sign_request(const proto::SignRequest& request) {
  if (request.method != "GET" && request.method != "POST") {
    throw Error(Code::bad_request, "method must be GET or POST (upper case)");
  }
  const std::string_view path = request.path;
  if (!path.starts_with("/api/v5/") || path.size() > kMaxRequestPath ||
      !std::all_of(path.begin(), path.end(), [](char c) { return c > 0x20 && c < 0x7f && c != '#'; })) {
    throw Error(Code::bad_request,
                "path must start with /api/v5/, be at most 4096 bytes of printable ASCII, and have no fragment");
  }
  if (request.method == "GET" && !request.body.empty()) {
    throw Error(Code::bad_request, "a GET request has no body");
  }
}

}  // namespace

Handler::Handler(Vault& vault, HandlerOptions options) : vault_(vault), options_(options) {}

Response Handler::error_response(Code code, const std::string& message, unsigned http_version, bool keep_alive) {
  Response response{static_cast<http::status>(http_status(code)), http_version};
  response.set(http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = proto::encode(proto::ErrorReply{code, message});
  response.prepare_payload();
  return response;
}

Response Handler::handle(Request& request, const Peer& peer) const {
  try {
    return dispatch(request, peer);
  } catch (const Error& e) {
    return error_response(e.code(), e.what(), request.version(), request.keep_alive());
  } catch (const std::exception& e) {
    spdlog::error("request {} {} failed: {}", request.method_string(), request.target(), e.what());
    return error_response(Code::internal, "internal error", request.version(), request.keep_alive());
  }
}

bool Handler::is_admin(const Peer& peer) const { return peer.uid == 0 || peer.uid == options_.daemon_uid; }

Response Handler::dispatch(Request& request, const Peer& peer) const {
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const http::verb verb = request.method();

  if (path == "/v1/status") {
    return verb == http::verb::get ? status(request) : method_not_allowed(request, "GET");
  }
  const bool is_keys = path == "/v1/keys";
  if (!is_keys && !path.starts_with(kKeysPrefix)) {
    throw Error(Code::not_found, "no such endpoint: " + std::string(path));
  }
  if (!is_admin(peer)) {
    throw Error(Code::forbidden, "uid " + std::to_string(peer.uid) + " may not use this endpoint");
  }
  if (is_keys) {
    if (verb == http::verb::get) return list(request);
    if (verb == http::verb::post) return add(request, peer);
    return method_not_allowed(request, "GET, POST");
  }

  const std::string_view rest = path.substr(kKeysPrefix.size());
  const std::size_t slash = rest.find('/');
  const std::string_view name = rest.substr(0, slash);
  const std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (action.empty() && slash == std::string_view::npos) {
    return verb == http::verb::delete_ ? remove(request, name, peer) : method_not_allowed(request, "DELETE");
  }
  if (action == "sign") return verb == http::verb::post ? sign(request, name) : method_not_allowed(request, "POST");
  if (action == "ws-login") {
    return verb == http::verb::post ? ws_login(request, name) : method_not_allowed(request, "POST");
  }
  throw Error(Code::not_found, "no such endpoint: " + std::string(path));
}

Response Handler::status(const Request& request) const {
  const auto uptime = std::chrono::steady_clock::now() - started_;
  proto::StatusReply reply{std::string(proto::kVersion), false, vault_.size(),
                           static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(uptime).count())};
  return json_response(request, http::status::ok, proto::encode(reply));
}

Response Handler::list(const Request& request) const {
  return json_response(request, http::status::ok, proto::encode(vault_.list()));
}

Response Handler::add(Request& request, const Peer& peer) const {
  // The body carries the secret: wipe it whatever happens next.
  struct WipeBody {
    std::string& body;
    ~WipeBody() { wipe(body); }
  } wipe_body{request.body()};
  const proto::AddKeyRequest add = proto::decode_add_key(request.body());
  const proto::KeyInfo added = vault_.add(add);
  spdlog::info("key '{}' added ({}) by uid {} pid {}", add.name, add.simulated ? "demo" : "live", peer.uid, peer.pid);
  return json_response(request, http::status::created, proto::encode(added));
}

Response Handler::remove(const Request& request, std::string_view name, const Peer& peer) const {
  vault_.remove(name);
  spdlog::info("key '{}' revoked by uid {} pid {}", name, peer.uid, peer.pid);
  Response response{http::status::no_content, request.version()};
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

std::string Handler::timestamp(const std::optional<std::string>& requested, bool epoch) const {
  const Clock::time_point now = Clock::now();
  if (!requested) return epoch ? epoch_seconds(now) : iso8601_ms(now);
  const Clock::time_point asked = epoch ? parse_epoch_seconds(*requested) : parse_iso8601_ms(*requested);
  const auto skew = std::chrono::abs(std::chrono::duration_cast<std::chrono::milliseconds>(asked - now));
  if (skew > options_.max_skew) {
    throw Error(Code::timestamp_skew, "timestamp is " + std::to_string(skew.count()) +
                                          " ms away from the daemon's clock (limit " +
                                          std::to_string(options_.max_skew.count()) + " ms)");
  }
  return *requested;
}

Response Handler::sign(const Request& request, std::string_view name) const {
  const proto::SignRequest sign = proto::decode_sign(request.body());
  validate_sign_request(sign);
  proto::SignReply reply;
  reply.timestamp = timestamp(sign.timestamp, false);
  reply.headers = vault_.sign(name, reply.timestamp, sign.method, sign.path, sign.body);
  return json_response(request, http::status::ok, proto::encode(reply));
}

Response Handler::ws_login(const Request& request, std::string_view name) const {
  const proto::WsLoginRequest login = proto::decode_ws_login(request.body());
  const std::string ts = timestamp(login.timestamp, true);
  return json_response(request, http::status::ok, proto::encode(vault_.ws_login(name, ts)));
}

}  // namespace okxvault
