#pragma once
// The HTTP messages the handler takes and gives: Beast's, with string bodies.

#include <boost/beast/http.hpp>

namespace okxvault {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

}  // namespace okxvault
