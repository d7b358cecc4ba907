#pragma once
// The okxvault::Error code an action throws, for tests that compare codes.

#include <functional>

#include "common/error.hpp"

namespace okxvault::test {

// Code::internal when the action throws nothing: no test here expects that code.
inline Code code_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.code();
  }
  return Code::internal;
}

}  // namespace okxvault::test
