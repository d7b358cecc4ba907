#pragma once
// The HTTP messages the handler takes and gives: Beast's, with bodies that wipe
// themselves. A request body may carry a secret or a passphrase (add, unlock),
// a reply the key's passphrase (sign, ws-login): the bytes are wiped whenever the
// body lets them go, cleared, grown, reassigned or destroyed (WipingString), on
// every path, with no call to remember.

#include <boost/beast/http.hpp>
#include <cstdint>

#include "common/secret.hpp"

namespace okxvault {

struct WipingBody {
  using value_type = WipingString;
  // Beast's own string body reads into and writes from the string it derives from.
  using reader = boost::beast::http::basic_string_body<char, std::char_traits<char>, WipeOnFree<char>>::reader;
  using writer = boost::beast::http::basic_string_body<char, std::char_traits<char>, WipeOnFree<char>>::writer;
  static std::uint64_t size(const value_type& body) { return body.size(); }
};

using Request = boost::beast::http::request<WipingBody>;
using Response = boost::beast::http::response<WipingBody>;

}  // namespace okxvault
