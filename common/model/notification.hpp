#pragma once
// Notifications as every layer sees them (see account.hpp): one notification,
// a group of them (grouped notifications, API v2), a notification request
// (filtered notifications from one account), the notification policy and the
// reading markers.
#include "common/ids.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::model {

struct notification {
  notification_id id;
  std::string type;                 // Mastodon's type name: mention, status, reblog, favourite, follow, …
  std::string created_at;
  chorus::account_id account_id;    // the recipient
  chorus::account_id from_account_id;
  status_id status;                 // 0: none
  std::string group_key;            // "" = ungrouped
  bool filtered = false;
};

struct notification_group {
  std::string group_key;            // "ungrouped-<id>" for one notification alone
  std::int64_t notifications_count = 0;
  std::string type;
  notification_id most_recent_notification_id;
  notification_id page_min_id;
  notification_id page_max_id;
  std::string latest_page_notification_at;
  std::vector<chorus::account_id> sample_account_ids;  // newest first, at most 8
  status_id status;                 // 0: none
};

struct notification_request {
  notification_request_id id;
  chorus::account_id from_account_id;
  status_id last_status;            // 0: none
  std::int64_t notifications_count = 0;
  std::string created_at;
  std::string updated_at;
};

// Values are accept, filter or drop (Mastodon's v2 policy). Empty fields in a
// change leave the stored value as it is.
struct notification_policy {
  std::string for_not_following = "accept";
  std::string for_not_followers = "accept";
  std::string for_new_accounts = "accept";
  std::string for_private_mentions = "filter";
  std::string for_limited_accounts = "filter";
  std::int64_t pending_requests_count = 0;
  std::int64_t pending_notifications_count = 0;
};

struct marker {
  std::string timeline;             // home or notifications
  std::int64_t last_read_id = 0;
  std::int32_t version = 0;
  std::string updated_at;
};

} // namespace chorus::model
