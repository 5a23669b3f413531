#pragma once
// The remote part of the protocol catalogue: every message here is plain data
// with strong id types and an inspect() (its wire form), registered with
// add_message_type by wire.cpp, so any of these may cross nodes. Data the
// messages carry are the model types (common/model, wire form in
// model_wire.hpp). Node-local messages (closures, shared pointers, one node's
// batches and connections) are in local.hpp.
#include "actors/protocol/model_wire.hpp"
#include "common/ids.hpp"
#include "common/model/account.hpp"
#include "common/model/conversation.hpp"
#include "common/model/feed.hpp"
#include "common/model/job.hpp"
#include "common/model/notification.hpp"
#include "common/model/relationship.hpp"
#include "common/model/status.hpp"

#include <caf/actor_control_block.hpp>
#include <caf/meta/type_name.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chorus::actors {

using caf::meta::type_name;

// ---- Node status -------------------------------------------------------------

struct pool_status {
  std::int32_t size = 0;       // workers (connections) configured
  std::int32_t connected = 0;  // workers holding an open connection
  std::int32_t busy = 0;       // workers running a job now
  std::uint64_t queued = 0;    // jobs waiting for a worker
  std::uint64_t processed = 0; // jobs finished (ok or error)
  std::uint64_t items = 0;     // logical requests carried by those jobs
  std::uint64_t errors = 0;
  std::uint64_t rejected = 0;  // refused because the queue was full
  std::uint64_t expired = 0;   // failed by deadline (queued or running too long)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_status& x) {
  return f(type_name("pool_status"), x.size, x.connected, x.busy, x.queued, x.processed, x.items, x.errors,
           x.rejected, x.expired);
}

struct redis_status {
  bool connected = false;
  std::uint64_t queued = 0;     // commands waiting
  std::uint64_t in_flight = 0;  // commands in the pipeline now
  std::uint64_t commands = 0;
  std::uint64_t pipelines = 0;
  std::uint64_t errors = 0;
  std::uint64_t rejected = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, redis_status& x) {
  return f(type_name("redis_status"), x.connected, x.queued, x.in_flight, x.commands, x.pipelines, x.errors,
           x.rejected);
}

struct readiness {
  bool postgres = false;
  bool redis = false;
  bool migrations = false;
  std::int32_t schema_version = 0;
  std::int32_t expected_version = 0;
  std::string postgres_error;
  std::string redis_error;

  bool ready() const noexcept { return postgres && redis && migrations; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, readiness& x) {
  return f(type_name("readiness"), x.postgres, x.redis, x.migrations, x.schema_version, x.expected_version,
           x.postgres_error, x.redis_error);
}

struct node_entry {
  std::string name;
  std::string http_address;
  std::string version;
  std::string started_at;
  std::string last_seen_at;
  double seconds_since_seen = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_entry& x) {
  return f(type_name("node_entry"), x.name, x.http_address, x.version, x.started_at, x.last_seen_at,
           x.seconds_since_seen);
}

struct migration_entry {
  std::int32_t version = 0;
  std::string name;
  std::string applied_at;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, migration_entry& x) {
  return f(type_name("migration_entry"), x.version, x.name, x.applied_at);
}

// ---- OAuth ---------------------------------------------------------------

struct app_spec {             // POST /api/v1/apps
  std::string name;
  std::string website;
  std::vector<std::string> redirect_uris;
  std::vector<std::string> scopes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, app_spec& x) {
  return f(type_name("app_spec"), x.name, x.website, x.redirect_uris, x.scopes);
}

struct app_query {            // GET /api/v1/apps/verify_credentials: the token's application
  chorus::app_id app_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, app_query& x) {
  return f(type_name("app_query"), x.app_id);
}

struct app_created {
  app_id id;
  std::string name;
  std::string website;
  std::vector<std::string> redirect_uris;
  std::vector<std::string> scopes;
  std::string client_id;
  std::string client_secret;  // shown once, stored only as a digest
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, app_created& x) {
  return f(type_name("app_created"), x.id, x.name, x.website, x.redirect_uris, x.scopes, x.client_id,
           x.client_secret);
}

struct token_grant {          // POST /oauth/token
  std::string grant_type;     // password | client_credentials | authorization_code
  std::string client_id;
  std::string client_secret;
  std::vector<std::string> scopes;  // empty: the app's scopes
  std::string username;       // password grant: e-mail or username
  std::string password;
  std::string code;           // authorization_code grant
  std::string redirect_uri;   // authorization_code grant: must match the code's
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_grant& x) {
  return f(type_name("token_grant"), x.grant_type, x.client_id, x.client_secret, x.scopes, x.username, x.password,
           x.code, x.redirect_uri);
}

struct authorize_check {      // GET /oauth/authorize: is this a valid request?
  std::string client_id;
  std::string redirect_uri;
  std::vector<std::string> scopes;  // empty: the app's scopes
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, authorize_check& x) {
  return f(type_name("authorize_check"), x.client_id, x.redirect_uri, x.scopes);
}

struct authorize_request {    // POST /oauth/authorize: the user signs in and approves
  authorize_check what;
  std::string username;
  std::string password;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, authorize_request& x) {
  return f(type_name("authorize_request"), x.what, x.username, x.password);
}

struct authorization {        // reply to both
  std::string app_name;
  std::vector<std::string> scopes;  // what will be granted
  std::string code;                 // POST only: single use, short-lived
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, authorization& x) {
  return f(type_name("authorization"), x.app_name, x.scopes, x.code);
}

struct token_issued {
  std::string access_token;   // shown once
  std::vector<std::string> scopes;
  std::int64_t created_at = 0;  // Unix seconds
  chorus::account_id account_id;  // 0 for app-only tokens
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_issued& x) {
  return f(type_name("token_issued"), x.access_token, x.scopes, x.created_at, x.account_id);
}

struct token_revoke {         // POST /oauth/revoke
  std::string client_id;
  std::string client_secret;
  std::string token;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_revoke& x) {
  return f(type_name("token_revoke"), x.client_id, x.client_secret, x.token);
}

struct bearer {               // Authorization: Bearer <token>
  std::string token;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bearer& x) {
  return f(type_name("bearer"), x.token);
}

struct auth_context {         // who a valid token speaks for
  chorus::token_id token_id;
  chorus::app_id app_id;
  chorus::account_id account_id;  // 0: app-only token
  std::vector<std::string> scopes;
  bool admin = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auth_context& x) {
  return f(type_name("auth_context"), x.token_id, x.app_id, x.account_id, x.scopes, x.admin);
}

// ---- Accounts ------------------------------------------------------------

struct registration {         // POST /api/v1/accounts
  auth_context app;           // the app token that registers
  std::string username;
  std::string email;
  std::string password;
  std::string locale;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, registration& x) {
  return f(type_name("registration"), x.app, x.username, x.email, x.password, x.locale);
}

struct account_query {        // by id, or by username when id == 0
  account_id id;
  std::string username;
  bool owner = false;         // the caller is the account: fill owner-only fields
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, account_query& x) {
  return f(type_name("account_query"), x.id, x.username, x.owner);
}

struct instance_query {};     // GET /api/v1/instance, /api/v2/instance

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_query&) {
  return f(type_name("instance_query"));
}

using model::instance_stats;  // counts for the instance endpoints

struct credentials_update {   // PATCH /api/v1/accounts/update_credentials
  chorus::account_id account_id;
  model::account_update fields;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, credentials_update& x) {
  return f(type_name("credentials_update"), x.account_id, x.fields);
}

// ---- Statuses ------------------------------------------------------------

// Statuses with everything needed to render them, plus pagination cursors.
struct status_view {
  model::status_bundle bundle;
  // The statuses already rendered as a JSON array (the feeds do this from the
  // hot-status cache's templates); empty: the HTTP layer renders `bundle`.
  std::shared_ptr<const std::string> body;
  std::uint64_t split = 0;        // context replies: statuses[0, split) are ancestors, the rest descendants
  std::int64_t newest_cursor = 0; // pagination cursor of the first (newest) item, 0 when empty
  std::int64_t oldest_cursor = 0; // … of the last (oldest) item
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_view& x) {
  auto body = wire::shared_text(x.body);
  return f(type_name("status_view"), x.bundle, body, x.split, x.newest_cursor, x.oldest_cursor);
}

struct status_create {        // POST /api/v1/statuses (id, account, application filled by the actor)
  auth_context who;
  model::new_status fields;   // content, mention_ids and tags are filled from `text` by the actor
  std::string base_url;       // for links in the rendered content
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_create& x) {
  return f(type_name("status_create"), x.who, x.fields, x.base_url);
}

struct status_get {           // GET /api/v1/statuses/:id
  account_id viewer;
  status_id id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_get& x) {
  return f(type_name("status_get"), x.viewer, x.id);
}

using model::status_action;   // POST /api/v1/statuses/:id/<verb>, DELETE /api/v1/statuses/:id
using model::status_verb;     // takedown: a moderator's removal

// direct: GET /api/v1/timelines/direct (the viewer's direct statuses).
enum class timeline_kind : std::uint8_t { public_, tag, account, favourites, bookmarks, home, direct };

struct timeline_query {
  timeline_kind kind = timeline_kind::public_;
  account_id viewer;
  account_id account;         // account: whose statuses
  std::string tag;            // tag: which hashtag
  model::page page;
  bool exclude_replies = false;
  bool exclude_reblogs = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, timeline_query& x) {
  return f(type_name("timeline_query"), x.kind, x.viewer, x.account, x.tag, x.page, x.exclude_replies,
           x.exclude_reblogs);
}

struct context_query {        // GET /api/v1/statuses/:id/context
  account_id viewer;
  status_id id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, context_query& x) {
  return f(type_name("context_query"), x.viewer, x.id);
}

enum class status_people : std::uint8_t { favourited_by, reblogged_by };

struct people_query {
  status_people kind = status_people::favourited_by;
  account_id viewer;
  status_id id;
  model::page page;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, people_query& x) {
  return f(type_name("people_query"), x.kind, x.viewer, x.id, x.page);
}

using account_list = model::account_page;  // accounts, newest first, with pagination cursors

// ---- Relationships -------------------------------------------------------

using model::relation_change;  // POST /api/v1/accounts/:id/<verb>, /api/v1/follow_requests/:id/<verb>
using model::relation_verb;

struct relations_query {      // GET /api/v1/accounts/relationships
  account_id me;
  std::vector<account_id> ids;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relations_query& x) {
  return f(type_name("relations_query"), x.me, x.ids);
}

struct relationship_list {
  std::vector<model::relationship> items;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relationship_list& x) {
  return f(type_name("relationship_list"), x.items);
}

struct people_list_query {    // followers, following, follow requests, blocks, mutes
  model::people_kind kind = model::people_kind::followers;
  account_id me;
  account_id account;
  model::page page;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, people_list_query& x) {
  return f(type_name("people_list_query"), x.kind, x.me, x.account, x.page);
}

// ---- Feeds, hot statuses and trends ----------------------------------------
// Events flow one way, after the write committed: statuses/relationships →
// feeds (and trends). `at_ns` is the steady clock when the event was made, for
// the fan-out and revocation lag histograms.

struct feed_post {            // a status (or reblog) was created
  model::feed_entry entry;
  status_id reblog_of_id;
  status_id in_reply_to_id;              // 0: not a reply
  account_id in_reply_to_account;
  std::int16_t visibility = 0;
  std::vector<account_id> mentions;
  std::vector<std::string> tags;         // lower-case names
  std::string language;
  std::int64_t at_ns = 0;     // 0: not timed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_post& x) {
  return f(type_name("feed_post"), x.entry, x.reblog_of_id, x.in_reply_to_id, x.in_reply_to_account, x.visibility,
           x.mentions, x.tags, x.language, x.at_ns);
}

struct feed_removal {         // statuses were deleted (by their author, an unreblog or a moderator)
  std::vector<status_id> ids;
  account_id author;
  bool moderation = false;
  std::int64_t at_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_removal& x) {
  return f(type_name("feed_removal"), x.ids, x.author, x.moderation, x.at_ns);
}

struct feed_relation {        // me → target changed (follow, unfollow, block, mute, …)
  account_id me;
  account_id target;
  relation_verb verb = relation_verb::follow;
  bool show_reblogs = true;
  std::int64_t at_ns = 0;
  // Filled by the feed manager for a follow: the followed account's follower
  // count and its recent statuses, merged into the follower's timeline.
  std::int64_t target_followers = 0;
  std::vector<model::ring_entry> merge;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_relation& x) {
  return f(type_name("feed_relation"), x.me, x.target, x.verb, x.show_reblogs, x.at_ns, x.target_followers,
           x.merge);
}

struct feed_interaction {     // viewer favourited/bookmarked/reblogged status (or undid it)
  account_id viewer;
  status_id status;
  account_id status_author;
  status_verb verb = status_verb::favourite;
  std::int64_t at_ns = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_interaction& x) {
  return f(type_name("feed_interaction"), x.viewer, x.status, x.status_author, x.verb, x.at_ns);
}

struct home_query {           // GET /api/v1/timelines/home
  account_id viewer;
  model::page page;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, home_query& x) {
  return f(type_name("home_query"), x.viewer, x.page);
}

// The feed manager pushes entries and revocations to live feeds.
struct feed_push {
  std::vector<model::feed_entry> entries;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_push& x) {
  return f(type_name("feed_push"), x.entries);
}

struct feed_revoke {
  std::vector<status_id> ids;           // these statuses
  account_id author;                    // and/or everything by this author (0: none)
  bool with_reblogs_of_author = false;  // … and reblogs of this author's statuses
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_revoke& x) {
  return f(type_name("feed_revoke"), x.ids, x.author, x.with_reblogs_of_author);
}

// Recent statuses of large authors, merged into home timelines at read time.
struct ring_query {
  std::vector<account_id> authors;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ring_query& x) {
  return f(type_name("ring_query"), x.authors);
}

struct ring_reply {
  std::vector<model::ring_entry> entries;  // newest first, all authors merged
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ring_reply& x) {
  return f(type_name("ring_reply"), x.entries);
}

struct hot_invalidate {       // drop changed statuses and accounts from a node's hot-status cache
  std::vector<status_id> statuses;
  std::vector<account_id> accounts;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hot_invalidate& x) {
  return f(type_name("hot_invalidate"), x.statuses, x.accounts);
}

struct feed_stats {
  std::int64_t live = 0;
  std::uint64_t activations = 0;
  std::uint64_t passivations = 0;
  std::uint64_t rebuilds = 0;       // cold feeds rebuilt from Postgres
  std::uint64_t redis_loads = 0;    // cold feeds restored from Redis
  std::uint64_t pushes = 0;         // entries pushed by fan-out on write
  std::uint64_t revocations = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_stats& x) {
  return f(type_name("feed_stats"), x.live, x.activations, x.passivations, x.rebuilds, x.redis_loads, x.pushes,
           x.revocations);
}

struct trend_statuses_query { // GET /api/v1/trends/statuses
  account_id viewer;
  std::int32_t limit = 20;
  std::int32_t offset = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trend_statuses_query& x) {
  return f(type_name("trend_statuses_query"), x.viewer, x.limit, x.offset);
}

struct trend_tags_query {     // GET /api/v1/trends/tags
  std::int32_t limit = 10;
  std::int32_t offset = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trend_tags_query& x) {
  return f(type_name("trend_tags_query"), x.limit, x.offset);
}

struct tag_history_day {
  std::int64_t day = 0;        // Unix seconds of the UTC day start
  std::int64_t uses = 0;
  std::int64_t accounts = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tag_history_day& x) {
  return f(type_name("tag_history_day"), x.day, x.uses, x.accounts);
}

struct trend_tag {
  std::string name;
  double score = 0;
  std::vector<tag_history_day> history;  // newest day first, 7 days
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trend_tag& x) {
  return f(type_name("trend_tag"), x.name, x.score, x.history);
}

struct trend_tag_list {
  std::vector<trend_tag> tags;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trend_tag_list& x) {
  return f(type_name("trend_tag_list"), x.tags);
}

// ---- Cluster (actors/cluster) ------------------------------------------------

struct member_info {           // who a node is, as it tells its peers when joining
  std::string name;            // node.name, unique in the cluster
  std::string incarnation;     // this run of it
  std::string version;         // chorusd version
  std::uint32_t protocol = 0;  // wire protocol version (actors/protocol/wire.hpp)
  std::string http_address;
  std::string cluster_address; // host:port of its cluster port
  std::int64_t started_ms = 0; // wall clock, ms since the epoch
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(type_name("member_info"), x.name, x.incarnation, x.version, x.protocol, x.http_address,
           x.cluster_address, x.started_ms);
}

// The join handshake (a mutual challenge over the shared secret):
// A → B hello(A, nonce_a); B → A challenge(B, nonce_b, proof of B over both
// nonces); A → B join(A, proof of A, A's actors); B → A welcome(B's actors).
struct cluster_hello {
  member_info from;
  std::string nonce;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_hello& x) {
  return f(type_name("cluster_hello"), x.from, x.nonce);
}

struct cluster_challenge {
  member_info from;
  std::string nonce;
  std::string proof;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_challenge& x) {
  return f(type_name("cluster_challenge"), x.from, x.nonce, x.proof);
}

// The actors a member serves the cluster with.
struct member_actors {
  caf::strong_actor_ptr cluster;  // its cluster actor (pings, broadcasts)
  caf::strong_actor_ptr feeds;    // its feed manager (reads and events for the users it owns)
  caf::strong_actor_ptr streams;  // its streams actor (outboxes of the users it owns, its stream connections)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_actors& x) {
  return f(type_name("member_actors"), x.cluster, x.feeds, x.streams);
}

// `saw_you_gone`: the sender had seen the other side gone (same run): events sent
// meanwhile may be lost, so both sides rebuild their live feeds, even if only
// one of them timed the other out.
struct cluster_join {
  member_info from;
  std::string proof;
  member_actors actors;
  bool saw_you_gone = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_join& x) {
  return f(type_name("cluster_join"), x.from, x.proof, x.actors, x.saw_you_gone);
}

struct cluster_welcome {
  member_info from;
  member_actors actors;
  bool saw_you_gone = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_welcome& x) {
  return f(type_name("cluster_welcome"), x.from, x.actors, x.saw_you_gone);
}

struct cluster_ping {
  std::string from;            // sender's name
  std::string incarnation;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_ping& x) {
  return f(type_name("cluster_ping"), x.from, x.incarnation);
}

struct cluster_pong {
  std::string incarnation;     // the answering member's (a restart shows as a new one)
  std::int64_t live_feeds = 0; // per-user actors it holds now
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_pong& x) {
  return f(type_name("cluster_pong"), x.incarnation, x.live_feeds);
}

// A bearer token was revoked: every node forgets it (token digest).
struct token_revoked {
  std::string digest;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, token_revoked& x) {
  return f(type_name("token_revoked"), x.digest);
}

// One member as this node sees it (GET /api/v1/chorus/admin/cluster).
struct member_view {
  member_info info;
  std::string state;           // self, joining, alive, suspect, gone
  bool connected = false;      // a BASP connection is up
  double last_heard_s = 0;     // since its last answer
  double rtt_ms = 0;           // last ping round trip
  double rtt_avg_ms = 0;       // moving average
  std::int64_t live_feeds = 0; // per-user actors it holds (as of its last pong)
  std::int64_t owned_users_sample = 0;  // of a fixed sample of 10,000 user ids, how many it owns now
  std::string error;           // why it is not alive (refused, unreachable, …)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_view& x) {
  return f(type_name("member_view"), x.info, x.state, x.connected, x.last_heard_s, x.rtt_ms, x.rtt_avg_ms,
           x.live_feeds, x.owned_users_sample, x.error);
}

struct cluster_status {
  std::string self;
  std::string transport;       // "tls" (mutual TLS), "tcp" or "off"
  bool authenticated = false;  // a shared secret is checked at join
  std::uint32_t protocol = 0;
  std::vector<member_view> members;  // self first
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_status& x) {
  return f(type_name("cluster_status"), x.self, x.transport, x.authenticated, x.protocol, x.members);
}

// Fan-out to the users another node owns: their live feeds get these entries
// (answered once they are in; the job that sent them retries otherwise).
struct feed_delivery {
  account_id account;
  std::vector<model::feed_entry> entries;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_delivery& x) {
  return f(type_name("feed_delivery"), x.account, x.entries);
}

struct feed_deliveries {
  std::vector<feed_delivery> items;
  // Large authors' new statuses (merged at read time, not pushed): every member
  // adds them to the rings it has loaded, so its readers see them too.
  std::vector<model::ring_entry> ring;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_deliveries& x) {
  return f(type_name("feed_deliveries"), x.items, x.ring);
}

// The owner's feed of `viewer` changed: another node that cached one of its
// rendered pages (it asked for one within feed.page_cache_ms) drops them.
struct feed_changed {
  account_id viewer;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_changed& x) {
  return f(type_name("feed_changed"), x.viewer);
}

// A revocation for the live feeds of users another node owns.
struct feed_revocation {
  std::vector<account_id> accounts;
  feed_revoke revoke;
  bool rings = false;  // also drop revoke.ids from every ring this member has loaded
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_revocation& x) {
  return f(type_name("feed_revocation"), x.accounts, x.revoke, x.rings);
}

// ---- Streaming (actors/streams, issue #14) ------------------------------------

// One streaming event as Mastodon sends it: the event name (update,
// status.update, delete, notification, conversation, filters_changed,
// announcement, …) and its payload, rendered once by whoever publishes it (a
// JSON document as text, or a bare status id for `delete`).
struct stream_event {
  std::string event;
  std::string payload;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_event& x) {
  return f(type_name("stream_event"), x.event, x.payload);
}

// An event for one user's own streams, sequenced by that user's outbox (placed
// by the cluster): `streams` names the streams it appears on, e.g. {"user",
// "user:notification"} for a notification, {"direct"} for a conversation,
// {"user"} for a home update, {"list:42"} for a list.
struct user_stream_event {
  account_id user;
  std::vector<std::string> streams;
  stream_event ev;
  account_id from;  // the account that caused it (a status's author), 0: none; viewers who
                    // block, are blocked by or mute it never receive the event
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_stream_event& x) {
  return f(type_name("user_stream_event"), x.user, x.streams, x.ev, x.from);
}

// The same event for many users' streams (a home `update` to a status's
// recipients, a `delete` to the timelines that held it): routed to each
// user's owner once per owner; users without a live outbox are skipped there.
struct user_stream_batch {
  std::vector<account_id> users;
  std::vector<std::string> streams;
  stream_event ev;
  account_id from;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_stream_batch& x) {
  return f(type_name("user_stream_batch"), x.users, x.streams, x.ev, x.from);
}

// One user's event as the user's outbox sequenced it (seq 1, 2, …), sent to
// every node where the user has a stream open.
struct user_stream_delivery {
  account_id user;
  std::int64_t seq = 0;
  std::vector<std::string> streams;
  stream_event ev;
  account_id from;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, user_stream_delivery& x) {
  return f(type_name("user_stream_delivery"), x.user, x.seq, x.streams, x.ev, x.from);
}

// A node's streams actor to the owner's: `node` has streams of `user` open
// (on) or none any more (off). With since >= 0 the answer carries the events
// after `since` still in the outbox (or refetch when some are gone).
struct outbox_watch {
  account_id user;
  caf::strong_actor_ptr node;
  bool on = true;
  std::int64_t since = -1;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbox_watch& x) {
  return f(type_name("outbox_watch"), x.user, x.node, x.on, x.since);
}

struct outbox_replay {
  std::int64_t last = 0;       // the outbox's sequence when the watch was registered
  bool refetch = false;        // events after `since` were lost (older than the outbox, or not kept)
  std::vector<user_stream_delivery> events;  // seq in (since, last], oldest first
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbox_replay& x) {
  return f(type_name("outbox_replay"), x.last, x.refetch, x.events);
}

// A status event for the shared streams of every node (public, public:local,
// hashtag:<tag>, …): `keys` are the streams' hub keys (docs/api.md, "Streaming").
struct shared_stream_event {
  std::vector<std::string> keys;
  stream_event ev;
  account_id from;
  bool all_shared = false;  // a `delete`: every shared stream (keys ignored)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_stream_event& x) {
  return f(type_name("shared_stream_event"), x.keys, x.ev, x.from, x.all_shared);
}

// A fanned-out status of a large author (more than feed.fanout_max_followers
// followers: no per-follower fan-out), rendered once by the node that ran the
// fan-out and sent to every node's streams actor: each sequences `ev` in the
// outboxes of the streaming users it owns who follow the author (home rules).
struct large_status_event {
  status_id id;
  account_id author;
  account_id origin_author;  // a reblog: the reblogged status's author
  account_id in_reply_to_account;
  std::int16_t visibility = 0;
  stream_event ev;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, large_status_event& x) {
  return f(type_name("large_status_event"), x.id, x.author, x.origin_author, x.in_reply_to_account, x.visibility,
           x.ev);
}

// A streams actor's counters.
struct stream_stats {
  std::int64_t live_outboxes = 0;   // outboxes this node owns that are live
  std::uint64_t sequenced = 0;      // events given a sequence number (appended to Redis)
  std::uint64_t skipped = 0;        // events for users with no live outbox (dropped cheaply)
  std::uint64_t delivered = 0;      // events handed to this node's hub
  std::uint64_t replays = 0;        // resumes answered
  std::uint64_t refetches = 0;      // … of which with `refetch`
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stream_stats& x) {
  return f(type_name("stream_stats"), x.live_outboxes, x.sequenced, x.skipped, x.delivered, x.replays, x.refetches);
}

// ---- Notifications and markers ------------------------------------------------
// One request type for the notifications actor (actors/notifications): `op`
// says which endpoint it serves and which fields it reads.

enum class notification_op : std::uint8_t {
  list,             // GET /api/v1/notifications: types, exclude_types, account, include_filtered, page
  get,              // GET /api/v1/notifications/:id (id)
  clear,            // POST /api/v1/notifications/clear
  dismiss,          // POST /api/v1/notifications/:id/dismiss (id)
  unread,           // GET /api/v1/notifications/unread_count: page.limit caps the count
  grouped,          // GET /api/v2/notifications: as list, plus grouped_types
  group_get,        // GET /api/v2/notifications/:group_key
  group_accounts,   // GET /api/v2/notifications/:group_key/accounts
  group_dismiss,    // POST /api/v2/notifications/:group_key/dismiss
  grouped_unread,   // GET /api/v2/notifications/unread_count: groups, capped at page.limit
  policy_get,       // GET /api/v2/notifications/policy
  policy_set,       // PATCH /api/v2/notifications/policy (policy; "" = unchanged)
  requests,         // GET /api/v1/notifications/requests (page)
  request_get,      // GET /api/v1/notifications/requests/:id (request_ids[0])
  request_accept,   // POST …/requests/:id/accept, POST …/requests/accept (request_ids)
  request_dismiss,  // POST …/requests/:id/dismiss, POST …/requests/dismiss (request_ids)
  markers_get,      // GET /api/v1/markers (markers[i].timeline)
  markers_set       // POST /api/v1/markers (markers)
};

struct notification_query {
  notification_op op = notification_op::list;
  account_id viewer;
  notification_id id;
  std::string group_key;
  std::vector<std::string> types;          // only these ([] = all)
  std::vector<std::string> exclude_types;
  std::vector<std::string> grouped_types;  // [] = Mastodon's default (favourite, follow, reblog, admin.sign_up)
  account_id account;                      // only from this account (0 = any)
  bool include_filtered = false;
  model::page page;
  std::vector<notification_request_id> request_ids;
  model::notification_policy policy;
  std::vector<model::marker> markers;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification_query& x) {
  return f(type_name("notification_query"), x.op, x.viewer, x.id, x.group_key, x.types, x.exclude_types,
           x.grouped_types, x.account, x.include_filtered, x.page, x.request_ids, x.policy, x.markers);
}

// The answer to every notification_query: the fields its op fills, and the
// statuses and accounts they refer to (hydrated for the viewer).
struct notification_view {
  std::vector<model::notification> items;
  std::vector<model::notification_group> groups;
  std::vector<model::notification_request> requests;
  model::notification_policy policy;
  std::vector<model::marker> markers;
  model::status_bundle bundle;
  std::vector<account_id> account_ids;  // group_accounts: in order
  std::int64_t count = 0;               // unread counts
  std::int64_t newest_cursor = 0;       // pagination cursors of the page (0 when empty)
  std::int64_t oldest_cursor = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification_view& x) {
  return f(type_name("notification_view"), x.items, x.groups, x.requests, x.policy, x.markers, x.bundle,
           x.account_ids, x.count, x.newest_cursor, x.oldest_cursor);
}

// ---- Conversations (actors/conversations, issue #14) ----------------------------

struct conversation_query {   // GET /api/v1/conversations
  account_id viewer;
  model::page page;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, conversation_query& x) {
  return f(type_name("conversation_query"), x.viewer, x.page);
}

enum class conversation_verb : std::uint8_t { read, remove };

struct conversation_action {  // POST /api/v1/conversations/:id/read, DELETE /api/v1/conversations/:id
  account_id viewer;
  conversation_id id;
  conversation_verb verb = conversation_verb::read;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, conversation_action& x) {
  return f(type_name("conversation_action"), x.viewer, x.id, x.verb);
}

// Conversations hydrated for their owner: `bundle` holds the last statuses
// (with the viewer's flags; a conversation whose last status the viewer may not
// see is left out) and the accounts of the participants and of the viewer.
// Participants blocking or blocked by the viewer are removed from `items`.
struct conversation_view {
  std::vector<model::conversation> items;
  model::status_bundle bundle;
  std::int64_t newest_cursor = 0;  // last_status_id of the first row read (before filtering), 0 when none
  std::int64_t oldest_cursor = 0;  // … of the last
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, conversation_view& x) {
  return f(type_name("conversation_view"), x.items, x.bundle, x.newest_cursor, x.oldest_cursor);
}

// ---- Jobs ------------------------------------------------------------------

struct job_work {             // a claimed job, handed to the handler actor of its kind
  job_id id;
  std::string queue;
  std::string kind;
  std::string payload;        // JSON text
  std::int32_t attempt = 1;   // 1 for the first run
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_work& x) {
  return f(type_name("job_work"), x.id, x.queue, x.kind, x.payload, x.attempt);
}

struct job_wake {             // jobs may be waiting in `queue` (NOTIFY chorus_jobs, or an enqueue on this node)
  std::string queue;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_wake& x) {
  return f(type_name("job_wake"), x.queue);
}

struct jobs_query {           // GET /api/v1/chorus/admin/jobs
  std::string queue;          // "" = all
  std::string state;          // "" = all; queued | running | dead
  job_id before;              // jobs with smaller ids (0 = from the newest)
  std::int32_t limit = 50;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, jobs_query& x) {
  return f(type_name("jobs_query"), x.queue, x.state, x.before, x.limit);
}

struct jobs_view {
  std::vector<model::queue_depth> queues;
  std::vector<model::job> jobs;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, jobs_view& x) {
  return f(type_name("jobs_view"), x.queues, x.jobs);
}

struct jobs_action {          // POST /api/v1/chorus/admin/jobs/:id/retry | replay
  std::vector<job_id> ids;
  bool replay = false;        // false: run queued jobs now; true: queue dead jobs again
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, jobs_action& x) {
  return f(type_name("jobs_action"), x.ids, x.replay);
}

struct jobs_changed {
  std::vector<job_id> ids;    // the ids that were changed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, jobs_changed& x) {
  return f(type_name("jobs_changed"), x.ids);
}

struct job_pool_stats {
  std::string queue;
  std::int64_t in_flight = 0;
  std::uint64_t claimed = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;   // attempts that failed and will be retried
  std::uint64_t dead = 0;     // attempts that failed the last time
  std::uint64_t claims = 0;   // claim statements run
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_pool_stats& x) {
  return f(type_name("job_pool_stats"), x.queue, x.in_flight, x.claimed, x.completed, x.failed, x.dead, x.claims);
}

} // namespace chorus::actors
