#include "http/routes.hpp"

#include "http/handlers/handlers.hpp"
#include "http/ratelimit.hpp"

namespace chorus::http {

std::shared_ptr<const router> make_routes(const actors::services& svc) {
  namespace h = handlers;
  auto r = std::make_shared<router>();
  auto limits = std::make_shared<rate_limits>();
  limits->svc = svc;
  limits->trusted_proxies = net::parse_cidrs(svc.cfg->ratelimit.trusted_proxies);  // validated with the config
  limits->exempt_loopback = svc.cfg->ratelimit.exempt_loopback;
  // Every route behind its rate limits (http/ratelimit.hpp).
  auto add = [&](const std::string& method, const std::string& pattern, handler_fn fn) {
    r->add(method, pattern, rate_limited(limits, method, pattern, std::move(fn)));
  };
  // Operations
  add("GET", "/health", h::health(svc));
  add("GET", "/ready", h::ready(svc));
  add("GET", "/metrics", h::metrics(svc));
  // Streaming (Mastodon): the streams themselves are taken over by the
  // streaming gateway before routing (http/streaming/gateway.hpp).
  add("GET", "/api/v1/streaming/health", h::streaming_health(svc));
  // Instance (Mastodon)
  add("GET", "/api/v1/instance", h::instance_v1(svc));
  add("GET", "/api/v2/instance", h::instance_v2(svc));
  // OAuth and applications (Mastodon)
  add("POST", "/api/v1/apps", h::create_app(svc));
  add("GET", "/api/v1/apps/verify_credentials", h::verify_app(svc));
  add("POST", "/oauth/token", h::token(svc));
  add("POST", "/oauth/revoke", h::revoke(svc));
  add("GET", "/oauth/authorize", h::authorize_page(svc));
  add("POST", "/oauth/authorize", h::authorize_submit(svc));
  // Accounts (Mastodon)
  add("POST", "/api/v1/accounts", h::register_account(svc));
  add("GET", "/api/v1/accounts/verify_credentials", h::verify_credentials(svc));
  add("PATCH", "/api/v1/accounts/update_credentials", h::update_credentials(svc));
  add("GET", "/api/v1/accounts/lookup", h::lookup_account(svc));
  add("GET", "/api/v1/accounts/:id", h::get_account(svc));
  add("GET", "/api/v1/accounts/:id/statuses", h::account_statuses(svc));
  add("GET", "/api/v1/accounts/relationships", h::relationships(svc));
  using rel = actors::relation_verb;
  using people = storage::pg::people_kind;
  add("POST", "/api/v1/accounts/:id/follow", h::relation_change(svc, rel::follow, "write:follows"));
  add("POST", "/api/v1/accounts/:id/unfollow", h::relation_change(svc, rel::unfollow, "write:follows"));
  add("POST", "/api/v1/accounts/:id/block", h::relation_change(svc, rel::block, "write:blocks"));
  add("POST", "/api/v1/accounts/:id/unblock", h::relation_change(svc, rel::unblock, "write:blocks"));
  add("POST", "/api/v1/accounts/:id/mute", h::relation_change(svc, rel::mute, "write:mutes"));
  add("POST", "/api/v1/accounts/:id/unmute", h::relation_change(svc, rel::unmute, "write:mutes"));
  add("GET", "/api/v1/accounts/:id/followers", h::account_people(svc, people::followers));
  add("GET", "/api/v1/accounts/:id/following", h::account_people(svc, people::following));
  add("GET", "/api/v1/follow_requests", h::own_people(svc, people::follow_requests, "read:follows"));
  add("POST", "/api/v1/follow_requests/:id/authorize", h::relation_change(svc, rel::authorize, "write:follows"));
  add("POST", "/api/v1/follow_requests/:id/reject", h::relation_change(svc, rel::reject, "write:follows"));
  add("GET", "/api/v1/blocks", h::own_people(svc, people::blocks, "read:blocks"));
  add("GET", "/api/v1/mutes", h::own_people(svc, people::mutes, "read:mutes"));
  // Statuses (Mastodon)
  using verb = actors::status_verb;
  add("POST", "/api/v1/statuses", h::create_status(svc));
  add("GET", "/api/v1/statuses/:id", h::get_status(svc));
  add("DELETE", "/api/v1/statuses/:id", h::status_action(svc, verb::remove, "write:statuses"));
  add("GET", "/api/v1/statuses/:id/context", h::status_context(svc));
  add("POST", "/api/v1/statuses/:id/favourite", h::status_action(svc, verb::favourite, "write:favourites"));
  add("POST", "/api/v1/statuses/:id/unfavourite", h::status_action(svc, verb::unfavourite, "write:favourites"));
  add("POST", "/api/v1/statuses/:id/reblog", h::status_action(svc, verb::reblog, "write:statuses"));
  add("POST", "/api/v1/statuses/:id/unreblog", h::status_action(svc, verb::unreblog, "write:statuses"));
  add("POST", "/api/v1/statuses/:id/bookmark", h::status_action(svc, verb::bookmark, "write:bookmarks"));
  add("POST", "/api/v1/statuses/:id/unbookmark", h::status_action(svc, verb::unbookmark, "write:bookmarks"));
  add("GET", "/api/v1/statuses/:id/favourited_by", h::status_people(svc, actors::status_people::favourited_by));
  add("GET", "/api/v1/statuses/:id/reblogged_by", h::status_people(svc, actors::status_people::reblogged_by));
  add("GET", "/api/v1/favourites", h::own_list(svc, actors::timeline_kind::favourites, "read:favourites"));
  add("GET", "/api/v1/bookmarks", h::own_list(svc, actors::timeline_kind::bookmarks, "read:bookmarks"));
  // Timelines (Mastodon)
  add("GET", "/api/v1/timelines/home", h::home_timeline(svc));
  // Removed by Mastodon 3.0 but still called by clients: the viewer's direct statuses.
  add("GET", "/api/v1/timelines/direct", h::own_list(svc, actors::timeline_kind::direct, "read:statuses"));
  // Conversations (Mastodon)
  add("GET", "/api/v1/conversations", h::list_conversations(svc));
  add("DELETE", "/api/v1/conversations/:id", h::conversation_action(svc, actors::conversation_verb::remove));
  add("POST", "/api/v1/conversations/:id/read", h::conversation_action(svc, actors::conversation_verb::read));
  add("GET", "/api/v1/trends", h::trend_tags(svc));
  add("GET", "/api/v1/trends/tags", h::trend_tags(svc));
  add("GET", "/api/v1/trends/statuses", h::trend_statuses(svc));
  add("GET", "/api/v1/timelines/public", h::public_timeline(svc));
  add("GET", "/api/v1/timelines/tag/:hashtag", h::tag_timeline(svc));
  // Notifications, notification policy and requests, markers (Mastodon)
  add("GET", "/api/v1/notifications", h::notifications_list(svc));
  add("GET", "/api/v1/notifications/unread_count", h::notifications_unread(svc, false));
  add("POST", "/api/v1/notifications/clear", h::notifications_clear(svc));
  add("GET", "/api/v1/notifications/policy", h::notification_policy_get(svc, true));
  add("PATCH", "/api/v1/notifications/policy", h::notification_policy_set(svc, true));
  add("GET", "/api/v1/notifications/requests", h::notification_requests(svc));
  add("GET", "/api/v1/notifications/requests/merged", h::notification_requests_merged(svc));
  add("POST", "/api/v1/notifications/requests/accept", h::notification_request_act(svc, true, true));
  add("POST", "/api/v1/notifications/requests/dismiss", h::notification_request_act(svc, false, true));
  add("GET", "/api/v1/notifications/requests/:id", h::notification_request_get(svc));
  add("POST", "/api/v1/notifications/requests/:id/accept", h::notification_request_act(svc, true, false));
  add("POST", "/api/v1/notifications/requests/:id/dismiss", h::notification_request_act(svc, false, false));
  add("GET", "/api/v1/notifications/:id", h::notification_get(svc));
  add("POST", "/api/v1/notifications/:id/dismiss", h::notification_dismiss(svc));
  add("GET", "/api/v2/notifications", h::notifications_grouped(svc));
  add("GET", "/api/v2/notifications/unread_count", h::notifications_unread(svc, true));
  add("GET", "/api/v2/notifications/policy", h::notification_policy_get(svc, false));
  add("PATCH", "/api/v2/notifications/policy", h::notification_policy_set(svc, false));
  add("GET", "/api/v2/notifications/:group_key", h::notification_group_get(svc));
  add("GET", "/api/v2/notifications/:group_key/accounts", h::notification_group_accounts(svc));
  add("POST", "/api/v2/notifications/:group_key/dismiss", h::notification_group_dismiss(svc));
  add("GET", "/api/v1/markers", h::markers_get(svc));
  add("POST", "/api/v1/markers", h::markers_set(svc));
  // Chorus extras: admin (loopback or admin token)
  add("GET", "/api/v1/chorus/admin/actors", h::admin_actors(svc));
  add("DELETE", "/api/v1/chorus/admin/statuses/:id", h::admin_takedown(svc));
  add("GET", "/api/v1/chorus/admin/jobs", h::admin_jobs(svc));
  add("POST", "/api/v1/chorus/admin/jobs/:id/retry", h::admin_job_action(svc, false));
  add("POST", "/api/v1/chorus/admin/jobs/:id/replay", h::admin_job_action(svc, true));
  add("GET", "/api/v1/chorus/admin/nodes", h::admin_nodes(svc));
  add("GET", "/api/v1/chorus/admin/cluster", h::admin_cluster(svc));
  add("GET", "/api/v1/chorus/admin/migrations", h::admin_migrations(svc));
  add("GET", "/api/v1/chorus/admin/log_level", h::admin_get_log_level(svc));
  add("PUT", "/api/v1/chorus/admin/log_level", h::admin_put_log_level(svc));
  add("GET", "/api/v1/chorus/admin/routes", h::admin_routes(svc, r));
  return r;
}

} // namespace chorus::http
