#pragma once
// The request handler: a plain function from one HTTP request and the peer's
// kernel-verified credentials to one response. It does no socket I/O, so it is
// tested without a socket; the server calls it from any thread (it is
// thread-safe because the Vault is). Every failure converges on one error reply.

#include <sys/types.h>

#include <boost/beast/http.hpp>
#include <chrono>

#include "daemon/vault.hpp"
#include "proto/error.hpp"

namespace okxvault {

// Who is on the other end of a connection, as the kernel reports it (SO_PEERCRED).
struct Peer {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;
};

struct HandlerOptions {
  std::chrono::milliseconds max_skew{30'000};
  uid_t daemon_uid = 0;
};

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

class Handler {
 public:
  Handler(Vault& vault, HandlerOptions options);

  // Never throws. Wipes the request body when it carried secrets.
  Response handle(Request& request, const Peer& peer) const;

  // The error reply, also used by the server for requests it could not read.
  static Response error_response(Code code, const std::string& message, unsigned http_version,
                                 bool keep_alive);

 private:
  Response dispatch(Request& request, const Peer& peer) const;
  Response status(const Request& request) const;
  Response list(const Request& request) const;
  Response add(Request& request, const Peer& peer) const;
  Response remove(const Request& request, std::string_view name, const Peer& peer) const;
  Response sign(const Request& request, std::string_view name) const;
  Response ws_login(const Request& request, std::string_view name) const;
  // The timestamp to sign with: the client's if within max_skew of now, else now.
  std::string timestamp(const std::optional<std::string>& requested, bool epoch_seconds) const;
  bool is_admin(const Peer& peer) const;

  Vault& vault_;
  HandlerOptions options_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace okxvault
