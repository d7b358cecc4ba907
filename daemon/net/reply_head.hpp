#pragma once
// The bytes a reply starts with, the status line and the header fields in their
// order, exactly as Beast's serializer writes them for the same response (the
// unit tests compare the two). The server sends them and the body in one gather
// write. The body follows as is, so the reply must not be chunked (the server
// ensures it).

#include <string>

#include "daemon/api/response.hpp"

namespace okxvault {

// Replaces the contents of `out`, keeping its capacity for the next reply.
void write_head(const Response& response, std::string& out);

}  // namespace okxvault
