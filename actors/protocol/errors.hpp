#pragma once
// chorus::errc inside caf::error (category atom "chorus"), and back.
#include "common/errc.hpp"

#include <caf/error.hpp>
#include <string>

namespace chorus::actors {

caf::atom_value error_category() noexcept;

caf::error make_error(errc code, std::string description);

// Converts the exception currently being handled into a caf::error.
caf::error current_exception_error();

// Classifies any caf::error (ours or CAF's own, e.g. request timeouts).
errc code_of(const caf::error& err) noexcept;
std::string description_of(const caf::error& err);

} // namespace chorus::actors
