#pragma once
// An audit log as tests compare it: each line's "action key decision rule"; its lines.

#include <boost/json.hpp>

#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/process.hpp"

namespace okxvault::test {

// The lines of `text`, without their newlines.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::vector<std::string> audit_lines(const std::filesystem::path& log_path) {
  std::istringstream log(read_file(log_path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(log, line);) {
    const boost::json::object record = boost::json::parse(line).as_object();
    const auto text = [&](std::string_view field) {
      const boost::json::value* value = record.if_contains(field);
      return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
    };
    lines.push_back(text("action") + " " + text("key") + " " + text("decision") + " " + text("rule"));
  }
  return lines;
}

}  // namespace okxvault::test
