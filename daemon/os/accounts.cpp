#include "daemon/os/accounts.hpp"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <charconv>

#include "common/error.hpp"

namespace okxvault {

namespace {

// A decimal id: false if `text` is not all digits. One that does not fit the id
// type, or is -1 (which the kernel reads as "unchanged" or "unknown"), is
// refused rather than wrapped: "4294967296" must not become uid 0.
template <typename Id>
bool parse_id(const std::string& text, Id& id, const char* what) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  Id value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == static_cast<Id>(-1)) {
    throw Error(Code::bad_request, std::string(what) + " out of range: " + text + " (at most " +
                                       std::to_string(static_cast<Id>(-2)) + ")");
  }
  id = value;
  return true;
}

}  // namespace

std::vector<gid_t> groups_of(uid_t uid, gid_t gid) {
  std::vector<char> buffer(16 * 1024);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) return {gid};
  std::vector<gid_t> groups(64);
  int count = static_cast<int>(groups.size());
  if (::getgrouplist(found->pw_name, gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<std::size_t>(count));
    if (::getgrouplist(found->pw_name, gid, groups.data(), &count) < 0) return {gid};
  }
  groups.resize(static_cast<std::size_t>(count));
  return groups;
}

bool lookup_user(const std::string& name, uid_t& uid, std::string& canonical) {
  std::vector<char> buffer(16 * 1024);
  passwd entry{};
  passwd* found = nullptr;
  uid_t id = 0;
  if (parse_id(name, id, "uid")) {
    ::getpwuid_r(id, &entry, buffer.data(), buffer.size(), &found);
    uid = id;
    canonical = found != nullptr ? found->pw_name : name;
    return true;  // a numeric uid needs no passwd entry
  }
  if (::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) return false;
  uid = found->pw_uid;
  canonical = found->pw_name;
  return true;
}

bool lookup_group(const std::string& name, gid_t& gid, std::string& canonical) {
  std::vector<char> buffer(64 * 1024);
  group entry{};
  group* found = nullptr;
  gid_t id = 0;
  if (parse_id(name, id, "gid")) {
    ::getgrgid_r(id, &entry, buffer.data(), buffer.size(), &found);
    gid = id;
    canonical = found != nullptr ? found->gr_name : name;
    return true;
  }
  if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) return false;
  gid = found->gr_gid;
  canonical = found->gr_name;
  return true;
}

}  // namespace okxvault
