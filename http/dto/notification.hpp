#pragma once
// Mastodon's Notification, NotificationGroup (grouped notifications),
// NotificationRequest, NotificationPolicy (v1 and v2) and Marker entities.
#include "actors/protocol/messages.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace chorus::http {

// The notification with its account and (for status types) status from the
// bundle; null when the bundle lacks them (the status is no longer visible).
nlohmann::json notification_json(const model::notification& n, const model::status_bundle& b,
                                 const std::string& base_url);
// A page of notifications (those that render), as a JSON array.
nlohmann::json notifications_json(const actors::notification_view& v, const std::string& base_url);
// The grouped response {accounts, statuses, notification_groups} (partial_accounts
// too with expand_accounts=partial_avatars).
nlohmann::json grouped_json(const actors::notification_view& v, const std::string& base_url, bool partial_avatars);
nlohmann::json request_json(const model::notification_request& r, const model::status_bundle& b,
                            const std::string& base_url);
nlohmann::json policy_json(const model::notification_policy& p, bool v1);
nlohmann::json markers_json(const std::vector<model::marker>& markers);

} // namespace chorus::http
