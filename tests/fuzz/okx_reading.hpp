#pragma once
// How others read a request the vault signs, written independently of
// daemon/core/policy.cpp for the fuzz targets to check it against: OKX V5's grammar
// of paths, queries and signed strings, and the looser reading of a web stack
// (path parameters dropped, escapes decoded, dot segments resolved).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/policy.hpp"

namespace okxvault::fuzz {

inline bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
inline bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "/" then non-empty segments of [A-Za-z0-9_-] joined by single slashes; the
// last may be empty (a trailing slash) only when `trailing_slash_ok`.
inline bool okx_path_ok(std::string_view path, bool trailing_slash_ok) {
  if (path.empty() || path.front() != '/') return false;
  std::string_view rest = path.substr(1);
  while (true) {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (segment.empty() && !(last && trailing_slash_ok)) return false;
    for (const char c : segment) {
      if (!is_alnum(c) && c != '-' && c != '_') return false;
    }
    if (last) return true;
    rest = rest.substr(slash + 1);
  }
}

// Letters, digits, - _ . ~ = & , : and %XX.
inline bool okx_query_ok(std::string_view query) {
  for (std::size_t i = 0; i < query.size(); ++i) {
    const char c = query[i];
    if (c == '%') {
      if (i + 2 >= query.size() || !is_hex(query[i + 1]) || !is_hex(query[i + 2])) return false;
      i += 2;
    } else if (!is_alnum(c) && std::string_view("-_.~=&,:").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// A REST request path as the policy must accept it: /api/v5/..., then an optional query.
inline bool okx_request_path_ok(std::string_view request_path) {
  const std::size_t question = request_path.find('?');
  const std::string_view path = request_path.substr(0, question);
  return okx_path_ok(path, false) && ascii_lower(path).starts_with("/api/v5/") &&
         (question == std::string_view::npos || okx_query_ok(request_path.substr(question + 1)));
}

// What OKX reads from the signed tail METHOD + path + body: the method, then the
// path up to the first { or [ (where a JSON body starts), then the body.
struct SignedReading {
  std::string method, path, body;
};
inline std::optional<SignedReading> read_signed(std::string_view tail) {
  SignedReading reading;
  for (const std::string_view method : {"GET", "POST"}) {
    if (tail.starts_with(method)) reading.method = method;
  }
  if (reading.method.empty()) return std::nullopt;
  const std::string_view rest = tail.substr(reading.method.size());
  const std::size_t body = rest.find_first_of("{[");
  reading.path = rest.substr(0, body);
  if (body != std::string_view::npos) reading.body = rest.substr(body);
  return reading;
}

// A web stack's reading of a path (Tomcat, Spring, proxies): the part before
// ?, # or the first { or [, each segment without its ;parameters, %XX decoded
// once, empty and . segments dropped, .. resolved, lower-cased.
inline std::string web_stack_reading(std::string_view request_path) {
  const std::string_view path = request_path.substr(0, request_path.find_first_of("?#{["));
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view raw = path.substr(start, end - start);
    raw = raw.substr(0, raw.find(';'));
    std::string segment;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%' && i + 2 < raw.size() && is_hex(raw[i + 1]) && is_hex(raw[i + 2])) {
        segment += static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        segment += raw[i] == '\\' ? '/' : raw[i];
      }
    }
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(ascii_lower(segment));
    }
    start = end + 1;
  }
  std::string out;
  for (const std::string& segment : segments) out += "/" + segment;
  return out.empty() ? "/" : out;
}

// The built-in denies as a prefix list of their own: every one is POST only.
inline bool builtin_denied(std::string_view method, std::string_view canonical) {
  if (method != "POST") return false;
  for (const Rule& rule : builtin_denies()) {
    if (rule.method != "POST") return false;  // the model above no longer holds
    if (canonical.starts_with(rule.prefix)) return true;
  }
  return false;
}

}  // namespace okxvault::fuzz
