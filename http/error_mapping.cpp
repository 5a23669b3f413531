#include "http/error_mapping.hpp"

#include "actors/protocol/errors.hpp"

#include <nlohmann/json.hpp>

namespace chorus::http {

int status_of(errc code) noexcept {
  switch (code) {
    case errc::ok: return 200;
    case errc::bad_request: return 400;
    case errc::unprocessable: return 422;
    case errc::unauthorized: return 401;
    case errc::forbidden: return 403;
    case errc::not_found: return 404;
    case errc::method_not_allowed: return 405;
    case errc::unsupported_media_type: return 415;
    case errc::header_too_large: return 431;
    case errc::conflict: return 409;
    case errc::payload_too_large: return 413;
    case errc::rate_limited: return 429;
    case errc::overloaded: return 503;
    case errc::unavailable: return 503;
    case errc::timeout: return 503;
    case errc::aborted: return 503;
    case errc::internal: return 500;
  }
  return 500;
}

int retry_after_of(errc code) noexcept {
  switch (code) {
    case errc::overloaded: return 1;
    case errc::timeout: return 1;
    case errc::aborted: return 1;
    case errc::unavailable: return 5;
    default: return 0;
  }
}

namespace {
const char* default_message(errc code) {
  switch (code) {
    case errc::bad_request: return "Bad request";
    case errc::unprocessable: return "Validation failed";
    case errc::unauthorized: return "The access token is invalid";
    case errc::forbidden: return "This action is not allowed";
    case errc::not_found: return "Record not found";
    case errc::method_not_allowed: return "Method not allowed";
    case errc::unsupported_media_type: return "Unsupported content type";
    case errc::header_too_large: return "Request header fields too large";
    case errc::conflict: return "Conflict";
    case errc::payload_too_large: return "Request body too large";
    case errc::rate_limited: return "Too many requests";
    case errc::overloaded: return "Service overloaded, retry later";
    case errc::unavailable: return "Service temporarily unavailable";
    case errc::timeout: return "Request timed out";
    case errc::aborted: return "Conflicting concurrent writes, retry";
    default: return "Internal server error";
  }
}
} // namespace

response error_response(errc code, const std::string& error, const std::string& description) {
  response r;
  r.status = status_of(code);
  nlohmann::json body = {{"error", error.empty() ? default_message(code) : error}};
  if (!description.empty())
    body["error_description"] = description;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (auto s = retry_after_of(code); s > 0)
    r.headers.emplace_back("Retry-After", std::to_string(s));
  return r;
}

response error_response(const caf::error& err) {
  auto code = actors::code_of(err);
  // A 4xx description tells the client what to change; a 5xx one would tell it
  // about us (database addresses, driver messages): logged by the caller, not sent.
  auto desc = status_of(code) >= 500 ? std::string() : actors::description_of(err);
  return error_response(code, default_message(code), desc);
}

} // namespace chorus::http
