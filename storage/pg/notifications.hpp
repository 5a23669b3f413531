#pragma once
// Notifications (issue #14): the jobs that create them (enqueued in the
// transaction of the event that causes them), the rules that decide whether a
// notification is dropped, filtered (a notification request) or shown, and the
// reads and writes behind the notification, policy, request and marker
// endpoints. No CAF, no rendering.
#include "common/model/notification.hpp"
#include "common/model/status.hpp"
#include "storage/pg/jobs.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace pqxx { class connection_base; class transaction_base; }

namespace chorus::storage::pg {

// ---- Creation: jobs ------------------------------------------------------------

// Jobs of queue "notifications", kind "notify". Payload {"type":T,"to":R,"from":A,
// "status":S,"activity":X,"at":MS} (absent numbers are 0); two types expand to
// several recipients when the job runs: "status.created" (a new status or reblog:
// mentions, followers asking to be notified, the reblogged author) and
// "admin.sign_up" (every admin). Unique key n:T:X:R, so a repeated enqueue of an
// active job is a no-op; notifications are unique per (recipient, type,
// activity), so a retried job never notifies twice.
inline constexpr const char* notification_queue = "notifications";
inline constexpr const char* notify_kind = "notify";

struct notify_event {
  std::string type;
  std::int64_t recipient = 0;  // 0: the type decides (status.created, admin.sign_up)
  std::int64_t from = 0;
  std::int64_t status = 0;
  std::int64_t activity = 0;   // what caused it: one notification per (recipient, type, activity)
  std::int64_t at_ms = 0;      // wall clock of the event (the group's hour bucket)
};

new_job notify_job(const notify_event& ev);
// The payload as the job carries it, and back (false: not a notify payload).
std::string notify_payload(const notify_event& ev);

// Every Mastodon notification type (types[] / exclude_types[] accept these; the
// ones Chorus does not create yet simply match nothing).
const std::vector<std::string>& notification_types();
bool known_notification_type(const std::string& type);
// Types a group may form of (Mastodon: favourite, reblog, follow, admin.sign_up).
bool groupable_type(const std::string& type);

// For the moderation issue (#15): a moderation_warning notification to `recipient`
// about warning `warning_id`, enqueued in the caller's transaction.
void enqueue_moderation_warning(pqxx::transaction_base& tx, std::int64_t recipient, std::int64_t moderator,
                                std::int64_t warning_id);

// Runs one notify job: expands the event to its recipients, applies blocks,
// mutes (hide_notifications, unexpired), self-actions and each recipient's
// policy, stores the notifications (drop: nothing; filter: filtered, and its
// notification request created or updated) in one transaction. Returns the
// notifications it created, filtered ones included; none when they existed.
std::vector<model::notification> deliver(pqxx::connection_base& c, const notify_event& ev);

// The statuses (with their accounts) and the accounts named, for `viewer`
// (0: viewer-independent flags), in one transaction.
model::status_bundle hydrate(pqxx::connection_base& c, std::vector<status_id> statuses,
                             std::vector<account_id> accounts, account_id viewer);
model::status_bundle hydrate(pqxx::transaction_base& tx, std::vector<status_id> statuses,
                             std::vector<account_id> accounts, account_id viewer);

// What the viewer-independent rows of the hot-status cache lack: the accounts
// named (senders, group samples) and the viewer's flags on the statuses, in the
// caller's transaction; apply_viewer_extras copies them into a cache reply.
struct viewer_extras {
  std::unordered_map<account_id, model::account> accounts;
  std::vector<std::int64_t> favourited, reblogged, bookmarked;
};
viewer_extras load_viewer_extras(pqxx::transaction_base& tx, std::vector<status_id> statuses,
                                 std::vector<account_id> accounts, account_id viewer);
void apply_viewer_extras(model::status_bundle& b, viewer_extras&& x);

// ---- Reads and writes of the endpoints ---------------------------------------------
// The reads come twice: on a connection (their own transaction) and in the
// caller's transaction (the notifications actor reads a page and what hydrates
// it in one). Their statements are prepared per connection.

struct notification_filter {
  std::vector<std::string> types;          // [] = all known
  std::vector<std::string> exclude_types;
  std::int64_t from = 0;                   // 0 = any account
  bool include_filtered = false;
};

// A page of `viewer`'s notifications, newest first (cursor: the notification id).
// Hidden: notifications about deleted statuses, undone favourites, reblogs,
// follows and follow requests, and from disabled accounts.
std::vector<model::notification> list_notifications(pqxx::connection_base& c, account_id viewer,
                                                    const notification_filter& f, const model::page& p);
std::vector<model::notification> list_notifications(pqxx::transaction_base& tx, account_id viewer,
                                                    const notification_filter& f, const model::page& p);
// One of `viewer`'s notifications (filtered ones too); not_found otherwise.
model::notification get_notification(pqxx::connection_base& c, account_id viewer, notification_id id);
model::notification get_notification(pqxx::transaction_base& tx, account_id viewer, notification_id id);
// Returns false when `viewer` has no such notification.
bool dismiss_notification(pqxx::connection_base& c, account_id viewer, notification_id id);
void clear_notifications(pqxx::connection_base& c, account_id viewer);
// Notifications newer than the notifications marker, at most `limit`.
std::int64_t unread_count(pqxx::connection_base& c, account_id viewer, const notification_filter& f, int limit);
std::int64_t unread_count(pqxx::transaction_base& tx, account_id viewer, const notification_filter& f, int limit);

// Grouped notifications (API v2): a page of groups, each represented by its
// newest notification in the page, with Mastodon's pagination over groups
// (a group is counted once per page; a page may end inside a group).
struct grouped_page {
  std::vector<model::notification> items;       // the representative of each group, newest first
  std::vector<model::notification_group> groups;  // one per item, in order
};
grouped_page grouped_notifications(pqxx::connection_base& c, account_id viewer, const notification_filter& f,
                                   const std::vector<std::string>& grouped_types, const model::page& p);
grouped_page grouped_notifications(pqxx::transaction_base& tx, account_id viewer, const notification_filter& f,
                                   const std::vector<std::string>& grouped_types, const model::page& p);
// Groups newer than the notifications marker, at most `limit`.
std::int64_t grouped_unread_count(pqxx::connection_base& c, account_id viewer, const notification_filter& f,
                                  const std::vector<std::string>& grouped_types, int limit);
std::int64_t grouped_unread_count(pqxx::transaction_base& tx, account_id viewer, const notification_filter& f,
                                  const std::vector<std::string>& grouped_types, int limit);
// One group by key ("ungrouped-<id>" or a group key); not_found when empty.
grouped_page notification_group(pqxx::connection_base& c, account_id viewer, const std::string& group_key);
grouped_page notification_group(pqxx::transaction_base& tx, account_id viewer, const std::string& group_key);
// The accounts of a group's notifications, newest first (at most `limit`).
std::vector<account_id> group_accounts(pqxx::connection_base& c, account_id viewer, const std::string& group_key,
                                       int limit);
void dismiss_group(pqxx::connection_base& c, account_id viewer, const std::string& group_key);

// ---- Policy, requests, markers --------------------------------------------------

model::notification_policy get_policy(pqxx::connection_base& c, account_id viewer);
// Empty fields are left unchanged; values must be accept, filter or drop.
model::notification_policy set_policy(pqxx::connection_base& c, account_id viewer,
                                      const model::notification_policy& change);

// Open (not dismissed) requests, newest first (cursor: the request id).
std::vector<model::notification_request> list_requests(pqxx::connection_base& c, account_id viewer,
                                                       const model::page& p);
model::notification_request get_request(pqxx::connection_base& c, account_id viewer, notification_request_id id);
// Accept: the account is allowed from now on, its filtered notifications join
// the normal list and the request is gone. Dismiss: the request and its
// filtered notifications are gone (a later filtered notification opens it
// again). Both return the ids that were `viewer`'s open requests.
std::vector<notification_request_id> accept_requests(pqxx::connection_base& c, account_id viewer,
                                                     const std::vector<notification_request_id>& ids);
std::vector<notification_request_id> dismiss_requests(pqxx::connection_base& c, account_id viewer,
                                                      const std::vector<notification_request_id>& ids);

// The markers of `timelines` that exist (home, notifications).
std::vector<model::marker> get_markers(pqxx::connection_base& c, account_id viewer,
                                       const std::vector<std::string>& timelines);
// Sets each marker's last_read_id (version + 1) and returns them as stored.
std::vector<model::marker> set_markers(pqxx::connection_base& c, account_id viewer,
                                       const std::vector<model::marker>& markers);

} // namespace chorus::storage::pg
