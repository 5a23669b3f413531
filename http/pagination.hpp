#pragma once
// Mastodon pagination: max_id / since_id / min_id / limit in, Link header out.
// Cursors only: keyset queries, never OFFSET.
#include "http/types.hpp"
#include "storage/pg/statuses.hpp"

#include <string>
#include <string_view>

namespace chorus::http {

// A `limit` parameter as Mastodon reads it: absent, empty or not a number →
// `default_limit`; a number (however many digits) is clamped to 1..max_limit.
int page_limit(std::string_view raw, int default_limit, int max_limit);

// Reads the page parameters (non-numeric values are ignored; limit as page_limit).
storage::pg::page read_page(const request& req, int default_limit = 20, int max_limit = 40);

// `<…?max_id=oldest>; rel="next", <…?min_id=newest>; rel="prev"`, keeping the
// request's other query parameters; "" when the page is empty.
std::string link_header(const std::string& base_url, const request& req, std::int64_t newest, std::int64_t oldest);

// The same in two steps, for callbacks that should not carry the request: the
// part of the URLs that does not depend on the page (base URL, encoded path, the
// other query parameters, ending in ? or &), then the header from it.
std::string link_prefix(const std::string& base_url, const request& req);
std::string link_header(const std::string& prefix, std::int64_t newest, std::int64_t oldest);

} // namespace chorus::http
