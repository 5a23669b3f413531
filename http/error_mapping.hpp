#pragma once
// The only place that knows which HTTP status an error code becomes, and the one
// JSON error shape: {"error": "...", "error_description": "..."} (as Mastodon).
#include "common/errc.hpp"
#include "http/types.hpp"

#include <string>

namespace caf { class error; }

namespace chorus::http {

int status_of(errc code) noexcept;

// Seconds a client should wait before retrying (Retry-After), or 0 for none.
int retry_after_of(errc code) noexcept;

// `error` is a short human message (Mastodon clients show it), `description` the detail.
response error_response(errc code, const std::string& error, const std::string& description = {});
response error_response(const caf::error& err);

} // namespace chorus::http
