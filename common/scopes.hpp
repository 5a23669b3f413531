#pragma once
// OAuth scopes as Mastodon defines them: top-level read/write/follow/push/
// admin:read/admin:write and their sub-scopes (read:statuses, admin:write:accounts…).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::scopes {

// Parses a space- or plus-separated list; nullopt if any scope is unknown.
// An empty string yields {"read"} (Mastodon's default).
std::optional<std::vector<std::string>> parse(std::string_view text);

std::string join(const std::vector<std::string>& list);

// True if `granted` allows `required` (e.g. "read" allows "read:accounts",
// "follow" allows "write:blocks", "admin:read" allows "admin:read:accounts").
bool allows(const std::vector<std::string>& granted, std::string_view required);

// True if every scope of `requested` is allowed by `within` (token ⊆ app scopes).
bool subset(const std::vector<std::string>& requested, const std::vector<std::string>& within);

bool known(std::string_view scope);

} // namespace chorus::scopes
