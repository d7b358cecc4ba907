#pragma once
// A stand-in for www.okx.com's V5 REST authentication, for end-to-end tests.
// It listens on 127.0.0.1 (a port the kernel picks) and serves from one thread
// of its own, checking the OK-ACCESS-* headers as OKX V5 documents them: the key,
// the passphrase, an ISO 8601 millisecond timestamp within 30 s of now, and the
// signature over timestamp + method + request target (path and query) + the
// exact body bytes, recomputed with libsodium from the secret it was given,
// never with okx-vault's own signer. It answers as OKX does: {"code":"0",...}
// with HTTP 200, or an OKX error code with HTTP 401. Thread-safe.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/reference_sign.hpp"

namespace okxvault::test {

// The account the exchange knows: what a user pasted into the vault.
struct ExchangeAccount {
  std::string api_key;
  std::string secret;
  std::string passphrase;
  bool simulated = false;  // a demo-trading key: requests must carry x-simulated-trading: 1
};

class ExchangeDouble {
 public:
  explicit ExchangeDouble(ExchangeAccount account);
  ~ExchangeDouble();
  ExchangeDouble(const ExchangeDouble&) = delete;
  ExchangeDouble& operator=(const ExchangeDouble&) = delete;

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" + target.
  std::string url(std::string_view target) const;

  // Every request it answered, in order.
  struct Seen {
    std::string method;
    std::string target;
    std::string body;
    std::string code;  // the OKX code it answered with: "0", "50113", ...
  };
  std::vector<Seen> seen() const;

 private:
  struct Server;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  int status = 0;
  std::string body;
  std::string code;  // the reply's OKX "code" field, "" if it has none
};

// One plain HTTP/1.1 request to the double, the way a bot would send it:
// the given headers, and for a body Content-Type: application/json.
HttpReply http_request(const ExchangeDouble& exchange, std::string_view method, std::string_view target,
                       const HeaderList& headers, std::string_view body = {});

}  // namespace okxvault::test
