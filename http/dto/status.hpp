#pragma once
// Mastodon's Status entity from a hydrated bundle.
#include "actors/protocol/local.hpp"
#include "storage/pg/statuses.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace chorus::http {

const char* visibility_name(std::int16_t v);
// -1 for an unknown name.
int visibility_from_name(const std::string& name);

// The status with its account, mentions, tags and (for reblogs) the original.
nlohmann::json status_json(const storage::pg::status_row& s, const storage::pg::status_bundle& b,
                           const std::string& base_url, bool with_source = false);

// Every status of the bundle, in order.
nlohmann::json statuses_json(const storage::pg::status_bundle& b, const std::string& base_url, std::size_t from = 0,
                             std::size_t to = static_cast<std::size_t>(-1));

// The status rendered once, with its favourited/reblogged/bookmarked values left
// as slots the feeds fill per viewer (see actors::rendered_status). Installed
// into the hot-status cache at startup.
std::shared_ptr<const actors::rendered_status> status_template(const storage::pg::status_row& s,
                                                               const storage::pg::status_bundle& b,
                                                               const std::string& base_url);

} // namespace chorus::http
