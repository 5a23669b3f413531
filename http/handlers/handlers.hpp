#pragma once
// Handler factories: each returns the handler_fn for one route. The route table
// that wires them to paths is http/routes.cpp.
#include "actors/system/services.hpp"
#include "http/router.hpp"

#include <nlohmann/json_fwd.hpp>

namespace chorus::http::handlers {

// system.cpp
handler_fn health(const actors::services& svc);
// GET /api/v1/streaming/health: "OK" as Mastodon's streaming server answers.
handler_fn streaming_health(const actors::services& svc);
handler_fn ready(const actors::services& svc);
handler_fn metrics(const actors::services& svc);

// admin.cpp (loopback or admin token only)
handler_fn admin_actors(const actors::services& svc);
handler_fn admin_nodes(const actors::services& svc);
handler_fn admin_cluster(const actors::services& svc);
handler_fn admin_migrations(const actors::services& svc);
handler_fn admin_get_log_level(const actors::services& svc);
handler_fn admin_put_log_level(const actors::services& svc);
handler_fn admin_routes(const actors::services& svc, std::weak_ptr<const router> routes);

// oauth.cpp
handler_fn create_app(const actors::services& svc);
handler_fn verify_app(const actors::services& svc);
handler_fn token(const actors::services& svc);
handler_fn revoke(const actors::services& svc);
handler_fn authorize_page(const actors::services& svc);    // GET /oauth/authorize (HTML form)
handler_fn authorize_submit(const actors::services& svc);  // POST /oauth/authorize
// Mastodon's Token entity.
nlohmann::json token_json(const actors::token_issued& t);

// accounts.cpp
handler_fn register_account(const actors::services& svc);
handler_fn verify_credentials(const actors::services& svc);
handler_fn update_credentials(const actors::services& svc);
handler_fn lookup_account(const actors::services& svc);
handler_fn get_account(const actors::services& svc);

// statuses.cpp
handler_fn create_status(const actors::services& svc);
handler_fn get_status(const actors::services& svc);
handler_fn status_context(const actors::services& svc);
handler_fn status_action(const actors::services& svc, actors::status_verb verb, std::string scope);
handler_fn status_people(const actors::services& svc, actors::status_people kind);
handler_fn public_timeline(const actors::services& svc);
handler_fn tag_timeline(const actors::services& svc);
handler_fn account_statuses(const actors::services& svc);
// GET /api/v1/favourites, /api/v1/bookmarks, /api/v1/timelines/home
handler_fn own_list(const actors::services& svc, actors::timeline_kind kind, std::string scope);
handler_fn home_timeline(const actors::services& svc);  // served by the feed actors
handler_fn admin_takedown(const actors::services& svc);  // moderator removal of a status
handler_fn admin_jobs(const actors::services& svc);      // queue depths and jobs
handler_fn admin_job_action(const actors::services& svc, bool replay);  // retry now / replay dead
handler_fn trend_statuses(const actors::services& svc);
handler_fn trend_tags(const actors::services& svc);

// conversations.cpp
handler_fn list_conversations(const actors::services& svc);  // GET /api/v1/conversations
// POST /api/v1/conversations/:id/read, DELETE /api/v1/conversations/:id
handler_fn conversation_action(const actors::services& svc, actors::conversation_verb verb);

// relationships.cpp
handler_fn relation_change(const actors::services& svc, actors::relation_verb verb, std::string scope);
handler_fn relationships(const actors::services& svc);
// /api/v1/accounts/:id/followers|following (public)
handler_fn account_people(const actors::services& svc, storage::pg::people_kind kind);
// /api/v1/follow_requests, /api/v1/blocks, /api/v1/mutes (the caller's own)
handler_fn own_people(const actors::services& svc, storage::pg::people_kind kind, std::string scope);

// instance.cpp
handler_fn instance_v1(const actors::services& svc);
handler_fn instance_v2(const actors::services& svc);

// notifications.cpp (notifications v1 and grouped v2, policy, requests, markers)
handler_fn notifications_list(const actors::services& svc);
handler_fn notification_get(const actors::services& svc);
handler_fn notifications_clear(const actors::services& svc);
handler_fn notification_dismiss(const actors::services& svc);
handler_fn notifications_unread(const actors::services& svc, bool grouped);
handler_fn notifications_grouped(const actors::services& svc);
handler_fn notification_group_get(const actors::services& svc);
handler_fn notification_group_accounts(const actors::services& svc);
handler_fn notification_group_dismiss(const actors::services& svc);
handler_fn notification_policy_get(const actors::services& svc, bool v1);
handler_fn notification_policy_set(const actors::services& svc, bool v1);
handler_fn notification_requests(const actors::services& svc);
handler_fn notification_request_get(const actors::services& svc);
handler_fn notification_request_act(const actors::services& svc, bool accept, bool bulk);
handler_fn notification_requests_merged(const actors::services& svc);
handler_fn markers_get(const actors::services& svc);
handler_fn markers_set(const actors::services& svc);

// Loopback peers (not behind a proxy) and holders of admin.token may use admin routes.
bool admin_allowed(const request& req, const config& cfg);

} // namespace chorus::http::handlers
