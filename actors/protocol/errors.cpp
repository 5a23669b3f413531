#include "actors/protocol/errors.hpp"

#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace chorus::actors {

caf::atom_value error_category() noexcept { return caf::atom("chorus"); }

caf::error make_error(errc code, std::string description) {
  return caf::error(static_cast<uint8_t>(code), error_category(),
                    caf::make_message(std::move(description)));
}

caf::error current_exception_error() {
  try {
    throw;
  } catch (const failure& f) {
    return make_error(f.code(), f.what());
  } catch (const std::exception& e) {
    return make_error(errc::internal, e.what());
  } catch (...) {
    return make_error(errc::internal, "unknown exception");
  }
}

errc code_of(const caf::error& err) noexcept {
  if (!err)
    return errc::ok;
  if (err.category() == error_category())
    return static_cast<errc>(err.code());
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout: return errc::timeout;
      case caf::sec::request_receiver_down:
      case caf::sec::cannot_connect_to_node: return errc::unavailable;
      default: return errc::internal;
    }
  }
  if (err.category() == caf::atom("exit"))
    return errc::unavailable;
  return errc::internal;
}

std::string description_of(const caf::error& err) {
  if (!err)
    return {};
  if (err.category() == error_category()) {
    auto& ctx = err.context();
    if (ctx.match_elements<std::string>())
      return ctx.get_as<std::string>(0);
    return std::string(to_string(code_of(err)));
  }
  if (err.category() == caf::atom("system"))
    return caf::to_string(static_cast<caf::sec>(err.code()));
  return "actor error";
}

} // namespace chorus::actors
