#pragma once
// Users and groups, as the system's databases (NSS) resolve them.

#include <sys/types.h>

#include <string>
#include <vector>

namespace okxvault {

// A decimal number is taken as an id; one out of range for uid_t/gid_t, or -1,
// is Error(bad_request). Return false if there is no such user or group.
bool lookup_user(const std::string& name, uid_t& uid, std::string& canonical);
bool lookup_group(const std::string& name, gid_t& gid, std::string& canonical);

// The groups the group database gives user `uid` whose primary group is `gid`,
// `gid` included; only `gid` when the user has no passwd entry.
std::vector<gid_t> groups_of(uid_t uid, gid_t gid);

}  // namespace okxvault
