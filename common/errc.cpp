#include "common/errc.hpp"

namespace chorus {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::bad_request: return "bad_request";
    case errc::unprocessable: return "unprocessable";
    case errc::unauthorized: return "unauthorized";
    case errc::forbidden: return "forbidden";
    case errc::not_found: return "not_found";
    case errc::method_not_allowed: return "method_not_allowed";
    case errc::unsupported_media_type: return "unsupported_media_type";
    case errc::header_too_large: return "header_too_large";
    case errc::conflict: return "conflict";
    case errc::payload_too_large: return "payload_too_large";
    case errc::rate_limited: return "rate_limited";
    case errc::overloaded: return "overloaded";
    case errc::unavailable: return "unavailable";
    case errc::timeout: return "timeout";
    case errc::aborted: return "aborted";
    case errc::internal: return "internal";
  }
  return "internal";
}

} // namespace chorus
