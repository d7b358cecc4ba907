// The body of a sign request, as any peer may send it. The input is that body.
//
// Invariant: proto::decode_sign, which reads the text straight into the
// request's fields, reads it as the Boost.JSON tree it replaced does
// (tests/support/sign_request_tree.hpp): the same request, or the same error
// with the same message.

#include <cstdint>

#include "tests/fuzz/require.hpp"
#include "tests/support/sign_request_tree.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace okxvault;
  const std::string_view text = fuzz::as_text(data, size);
  fuzz::require(test::outcome(proto::decode_sign, text) == test::outcome(test::sign_request_from_tree, text),
                "decode_sign reads the text as the tree does");
  return 0;
}
