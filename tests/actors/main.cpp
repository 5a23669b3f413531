// Test runner for CAF test-coordinator suites (CAF's own unit test framework).
#include <caf/test/unit_test_impl.hpp>
