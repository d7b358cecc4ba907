#include "daemon/core/credentials.hpp"

#include <array>
#include <span>

#include "proto/messages.hpp"

namespace okxvault {

WipingString sign_reply(const Signer& signer, const Credentials& credentials, std::string_view timestamp,
                        std::string_view method, std::string_view request_path, std::string_view body) {
  const std::string sign = signer.sign(timestamp, method, request_path, body);
  std::array<proto::HeaderView, 6> headers{{
      {"OK-ACCESS-KEY", credentials.api_key},
      {"OK-ACCESS-SIGN", sign},
      {"OK-ACCESS-TIMESTAMP", timestamp},
      {"OK-ACCESS-PASSPHRASE", credentials.passphrase.reveal()},
  }};
  std::size_t count = 4;
  // OKX requires it on every POST; returning it makes the set complete.
  if (method == "POST") headers[count++] = {"Content-Type", "application/json"};
  if (credentials.simulated) headers[count++] = {"x-simulated-trading", "1"};
  return proto::encode(proto::SignReplyView{timestamp, std::span(headers.data(), count)});
}

WipingString ws_login_reply(const Signer& signer, const Credentials& credentials, std::string_view timestamp) {
  const std::string sign = signer.sign(timestamp, "GET", "/users/self/verify", "");
  return proto::encode(proto::WsLoginFrameView{credentials.api_key, credentials.passphrase.reveal(), timestamp, sign});
}

}  // namespace okxvault
