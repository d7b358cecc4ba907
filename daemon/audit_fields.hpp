#pragma once
// The members of one audit record's JSON object, written straight into a buffer
// with no JSON tree: exactly the bytes boost::json::serialize writes for the same
// object, strings escaped by Boost.JSON's own serializer.

#include <string>
#include <string_view>

#include "daemon/audit.hpp"

namespace okxvault {

// Appends `"time":...,"uid":...,...,"rule":...` (no braces) to `out`.
void append_audit_fields(std::string& out, std::string_view time, const Peer& peer, const AuditRecord& record);

}  // namespace okxvault
