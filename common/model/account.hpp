#pragma once
// Accounts as every layer sees them: storage reads and writes them, actor
// messages carry them (actors/protocol/inspect.hpp gives their wire form), the
// HTTP layer renders them. Plain data, no behaviour.
#include "common/ids.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chorus::model {

struct account {
  account_id id;
  std::string username;
  std::string display_name;
  std::string note;
  bool locked = false;
  bool bot = false;
  bool discoverable = true;
  std::int32_t followers_count = 0;
  std::int32_t following_count = 0;
  std::int32_t statuses_count = 0;
  std::string created_at;      // ISO 8601 UTC with milliseconds
  std::string last_status_at;  // YYYY-MM-DD, empty when never
  std::int32_t follow_requests_count = 0;  // pending requests to follow it; filled for its owner only
};

// A profile edit: the fields that are set change.
struct account_update {
  std::optional<std::string> display_name;
  std::optional<std::string> note;
  std::optional<bool> locked;
  std::optional<bool> bot;
  std::optional<bool> discoverable;
};

// A page of accounts, newest first, with the first and last cursor for Link headers.
struct account_page {
  std::vector<account> accounts;
  std::int64_t newest_cursor = 0;
  std::int64_t oldest_cursor = 0;
};

// Counts for the instance endpoints.
struct instance_stats {
  std::int64_t user_count = 0;
  std::int64_t status_count = 0;
  std::int64_t active_month = 0;  // users who signed in or posted in the last 30 days
  bool registrations_open = true;
};

} // namespace chorus::model
