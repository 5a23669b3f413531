#pragma once
// Small helpers shared by the handler files.
#include "actors/system/services.hpp"
#include "common/ids.hpp"
#include "common/config.hpp"
#include "http/responder.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>

namespace chorus::http::handlers {

// The deadline of a handler's actor round trip (http.request_timeout_ms).
inline std::chrono::milliseconds timeout_of(const actors::services& svc) {
  return std::chrono::milliseconds(svc.cfg->http.request_timeout_ms);
}

// A positive decimal id (path segment or parameter); false for anything else.
inline bool parse_id(const std::string& text, std::int64_t& out) {
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size() && out > 0;
}

// The same, read as an id of the kind the caller names.
template <class Tag>
bool parse_id(const std::string& text, strong_id<Tag>& out) {
  std::int64_t v = 0;
  if (!parse_id(text, v))
    return false;
  out = strong_id<Tag>{v};
  return true;
}

// Answers a page of accounts (Mastodon Account entities) with its Link header.
void send_account_list(const responder& res, const actors::services& svc, const request& req,
                       const actors::account_list& list);

} // namespace chorus::http::handlers
