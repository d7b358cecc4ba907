#pragma once
// The reading of a sign request that proto::decode_sign replaced: Boost.JSON's
// tree first, then the fields looked up by name. It is the reference that
// decode_sign, which reads the text straight into its fields, must agree with
// (tests/unit/messages_test.cpp, tests/fuzz/fuzz_sign_json.cpp). outcome() puts
// either reading's result, or its error, in one comparable string.

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "proto/messages.hpp"

namespace okxvault::test {

inline proto::SignRequest sign_request_from_tree(std::string_view text) {
  namespace json = boost::json;
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec) throw Error(Code::invalid_json, "request body is not valid JSON: " + ec.message());
  const auto fail = [](const std::string& message) { throw Error(Code::bad_request, "sign: " + message); };
  const json::object* object = value.if_object();
  if (object == nullptr) fail("expected a JSON object");
  const auto string_of = [&](std::string_view name, bool required) -> std::optional<std::string> {
    const json::value* member = object->if_contains(name);
    if (member == nullptr && required) fail("missing field '" + std::string(name) + "'");
    if (member == nullptr || (!required && member->is_null())) return std::nullopt;
    if (!member->is_string()) fail("field '" + std::string(name) + "' must be a string");
    return std::string(member->get_string());
  };
  proto::SignRequest request;
  request.method = *string_of("method", true);
  request.path = *string_of("path", true);
  request.body = string_of("body", false).value_or("");
  request.timestamp = string_of("timestamp", false);
  for (const auto& member : *object) {
    const std::string_view key = member.key();
    if (key != "method" && key != "path" && key != "body" && key != "timestamp") {
      fail(
          "unknown field (its name is not repeated, in case it is a secret); the fields are 'method', 'path', "
          "'body', 'timestamp'");
    }
  }
  return request;
}

template <typename Decode>
std::string outcome(Decode decode, std::string_view text) {
  try {
    const proto::SignRequest request = decode(text);
    return "method=" + request.method + "\npath=" + request.path + "\nbody=" + request.body +
           "\ntimestamp=" + (request.timestamp ? "\"" + *request.timestamp + "\"" : "none");
  } catch (const Error& e) {
    return "error " + std::string(code_name(e.code())) + ": " + e.what();
  }
}

}  // namespace okxvault::test
