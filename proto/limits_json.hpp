#pragma once
// A grant's trading limits as JSON: the "limits" object of PROTOCOL.md's
// "Trading limits". The grants codec (messages.cpp) writes and reads grants'
// limits with these, and the daemon's store keeps them in the same form, so that
// there is one mapping between Limits and JSON. Thread-safe.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "proto/limits.hpp"

namespace okxvault::proto {

// Only what is set: no empty lists, no reduce_only: false, no absent values.
boost::json::object limits_to_json(const Limits& limits);

// Strictly (a request, the store): a member this version does not know or a
// mistyped one is an Error (bad_request), and the limits must pass validate().
// Leniently (a reply): unknown members are skipped and the values are not
// checked against this version's lists, so that a client keeps working with a
// newer daemon; a mistyped member is still an Error (bad_request).
Limits limits_from_json(const boost::json::value& value, bool strict);

}  // namespace okxvault::proto
