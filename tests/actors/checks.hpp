#pragma once
// What the decision tests of the actor kinds share: CAF's unit test macros and
// an error's errc by name, for readable checks. The actors themselves are tested
// against the real pools and servers in tests/storage/*_pgtest.cpp.
#include "actors/protocol/errors.hpp"

#include <caf/test/unit_test.hpp>
#include <string>

namespace chorus::test {

// The errc of an error by name ("unauthorized").
inline std::string code(const caf::error& e) {
  return std::string(to_string(actors::code_of(e)));
}

} // namespace chorus::test
