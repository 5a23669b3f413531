#pragma once
// Plain request/response values handed to handlers. Handlers never see Beast.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chorus::http {

struct request {
  std::string method;        // "GET", "POST", …
  std::string target;        // raw request target (path + query)
  std::string path;          // decoded path without query, no trailing slash (except "/")
  std::string query_string;  // raw query, without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string remote_ip;
  bool remote_loopback = false;
  std::string request_id;
  std::map<std::string, std::string> params;  // path parameters (":id" → value)

  // First header with this (lower-case) name.
  std::optional<std::string_view> header(std::string_view name) const;
  // Decoded query parameters; repeated keys keep the last value, "a[]" keys keep all in `query_all`.
  std::map<std::string, std::string> query() const;
  std::vector<std::pair<std::string, std::string>> query_all() const;
};

struct response {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, sent instead of `body` without copying it (bodies cached and shared
  // by many responses, e.g. a feed's rendered page).
  std::shared_ptr<const std::string> shared_body;
};

// Percent-decoding ('+' → ' ' when `plus_is_space`). Returns false on a malformed escape.
bool url_decode(std::string_view in, std::string& out, bool plus_is_space);

// Parses "a=1&b=2" (application/x-www-form-urlencoded); malformed escapes → false.
bool parse_form(std::string_view text, std::vector<std::pair<std::string, std::string>>& out);

} // namespace chorus::http
