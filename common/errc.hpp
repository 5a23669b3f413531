#pragma once
// One error vocabulary for the whole server. Storage translates exceptions into
// these codes, actors carry them inside caf::error, and http/error_mapping.cpp is
// the only place that turns them into HTTP statuses.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace chorus {

enum class errc : std::uint8_t {
  ok = 0,
  bad_request,        // malformed input (JSON, form, query)
  unprocessable,      // well-formed but invalid values
  unauthorized,       // missing/invalid credentials
  forbidden,          // authenticated but not allowed
  not_found,          // unknown resource (or not visible to the caller)
  method_not_allowed, // the path exists, the method does not
  unsupported_media_type, // body encoding we do not read
  header_too_large,   // request head over the configured limit
  conflict,           // state conflict (duplicate, concurrent modification)
  payload_too_large,  // body over the configured limit
  rate_limited,       // a rate-limit bucket is empty
  overloaded,         // a bounded queue is full: shed load
  unavailable,        // a dependency (Postgres, Redis) is unreachable
  timeout,            // a deadline passed before an answer came
  aborted,            // the database aborted the transaction (deadlock, serialization): safe to retry
  internal,           // a bug or an unexpected failure
  last_ = internal,
};

std::string_view to_string(errc code) noexcept;

// Exception used at storage boundaries to carry a classified failure.
class failure : public std::runtime_error {
public:
  failure(errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  errc code() const noexcept { return code_; }

private:
  errc code_;
};

} // namespace chorus
