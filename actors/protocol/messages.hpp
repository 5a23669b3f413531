#pragma once
// Message types exchanged between Chorus actors.
#include "common/errc.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/feeds.hpp"
#include "storage/pg/jobs.hpp"
#include "storage/pg/relationships.hpp"
#include "storage/pg/statuses.hpp"
#include "storage/redis/context.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace chorus::actors {

// A unit of Postgres work run by a pool worker on its own connection. `run` opens
// and commits its own transaction(s) and writes its results into state it captured
// (e.g. a shared_ptr); exceptions are translated and returned as the reply error.
// `items` says how many logical requests this call carries (a batch of N → N).
struct db_call {
  std::string name;
  std::function<void(pqxx::connection_base&)> run;
  std::uint32_t items = 1;
};

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
  return f(caf::meta::type_name("pool_status"), x.size, x.connected, x.busy, x.queued, x.processed,
           x.items, x.errors, x.rejected, x.expired);
}

// One client request to the Redis actor: its commands go out in one pipeline
// (possibly together with other clients' commands) and come back in order.
struct redis_request {
  std::vector<storage::redis::command> commands;
};

struct redis_result {
  std::vector<storage::redis::reply> replies;
};

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
  return f(caf::meta::type_name("redis_status"), x.connected, x.queued, x.in_flight, x.commands,
           x.pipelines, x.errors, x.rejected);
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
  return f(caf::meta::type_name("readiness"), x.postgres, x.redis, x.migrations, x.schema_version,
           x.expected_version, x.postgres_error, x.redis_error);
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
  return f(caf::meta::type_name("node_entry"), x.name, x.http_address, x.version, x.started_at,
           x.last_seen_at, x.seconds_since_seen);
}

struct migration_entry {
  std::int32_t version = 0;
  std::string name;
  std::string applied_at;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, migration_entry& x) {
  return f(caf::meta::type_name("migration_entry"), x.version, x.name, x.applied_at);
}

// Blocking work for the blocking pool (no connection): runs on a worker thread.
struct blocking_call {
  std::string name;
  std::function<void()> run;
};

// ---- OAuth ---------------------------------------------------------------

struct app_spec {             // POST /api/v1/apps
  std::string name;
  std::string website;
  std::vector<std::string> redirect_uris;
  std::vector<std::string> scopes;
};

struct app_query {             // GET /api/v1/apps/verify_credentials: the token's application
  std::int64_t app_id = 0;
};

struct app_created {
  std::int64_t id = 0;
  std::string name;
  std::string website;
  std::vector<std::string> redirect_uris;
  std::vector<std::string> scopes;
  std::string client_id;
  std::string client_secret;  // shown once, stored only as a digest
};

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

struct authorize_check {      // GET /oauth/authorize: is this a valid request?
  std::string client_id;
  std::string redirect_uri;
  std::vector<std::string> scopes;  // empty: the app's scopes
};

struct authorize_request {    // POST /oauth/authorize: the user signs in and approves
  authorize_check what;
  std::string username;
  std::string password;
};

struct authorization {        // reply to both
  std::string app_name;
  std::vector<std::string> scopes;  // what will be granted
  std::string code;                 // POST only: single use, short-lived
};

struct token_issued {
  std::string access_token;   // shown once
  std::vector<std::string> scopes;
  std::int64_t created_at = 0;  // Unix seconds
  std::int64_t account_id = 0;  // 0 for app-only tokens
};

struct token_revoke {         // POST /oauth/revoke
  std::string client_id;
  std::string client_secret;
  std::string token;
};

struct bearer {               // Authorization: Bearer <token>
  std::string token;
};

struct auth_context {         // who a valid token speaks for
  std::int64_t token_id = 0;
  std::int64_t app_id = 0;
  std::int64_t account_id = 0;  // 0: app-only token
  std::vector<std::string> scopes;
  bool admin = false;
};

// ---- Accounts ------------------------------------------------------------

struct registration {         // POST /api/v1/accounts
  auth_context app;           // the app token that registers
  std::string username;
  std::string email;
  std::string password;
  std::string locale;
};

struct account_query {        // by id, or by username when id == 0
  std::int64_t id = 0;
  std::string username;
  bool owner = false;         // the caller is the account: fill owner-only fields
};

struct instance_query {};     // GET /api/v1/instance, /api/v2/instance

using instance_stats = storage::pg::instance_stats;  // counts for the instance endpoints

struct credentials_update {   // PATCH /api/v1/accounts/update_credentials
  std::int64_t account_id = 0;
  storage::pg::account_update fields;
};

// ---- Statuses ------------------------------------------------------------

// Statuses with everything needed to render them, plus pagination cursors.
struct status_view {
  storage::pg::status_bundle bundle;
  // The statuses already rendered as a JSON array (the feeds do this from the
  // hot-status cache's templates); empty: the HTTP layer renders `bundle`.
  std::shared_ptr<const std::string> body;
  std::size_t split = 0;          // context replies: statuses[0, split) are ancestors, the rest descendants
  std::int64_t newest_cursor = 0; // pagination cursor of the first (newest) item, 0 when empty
  std::int64_t oldest_cursor = 0; // … of the last (oldest) item
};

struct status_create {        // POST /api/v1/statuses (id, account, application filled by the actor)
  auth_context who;
  storage::pg::new_status fields;  // content, mention_ids and tags are filled from `text` by the actor
  std::string base_url;            // for links in the rendered content
};

struct status_get {           // GET /api/v1/statuses/:id
  std::int64_t viewer = 0;
  std::int64_t id = 0;
};

// Plain data owned by storage (storage/pg/statuses.hpp), which applies the actions.
using status_verb = storage::pg::status_verb;      // takedown: a moderator's removal
using status_action = storage::pg::status_action;  // POST /api/v1/statuses/:id/<verb>, DELETE /api/v1/statuses/:id

enum class timeline_kind : std::uint8_t { public_, tag, account, favourites, bookmarks, home };

struct timeline_query {
  timeline_kind kind = timeline_kind::public_;
  std::int64_t viewer = 0;
  std::int64_t account = 0;   // account: whose statuses
  std::string tag;            // tag: which hashtag
  storage::pg::page page;
  bool exclude_replies = false;
  bool exclude_reblogs = false;
};

struct context_query {        // GET /api/v1/statuses/:id/context
  std::int64_t viewer = 0;
  std::int64_t id = 0;
};

enum class status_people : std::uint8_t { favourited_by, reblogged_by };

struct people_query {
  status_people kind = status_people::favourited_by;
  std::int64_t viewer = 0;
  std::int64_t id = 0;
  storage::pg::page page;
};

using account_list = storage::pg::account_page;  // accounts, newest first, with pagination cursors

// ---- Relationships -------------------------------------------------------

// Plain data owned by storage (storage/pg/relationships.hpp), which applies the changes.
using relation_verb = storage::pg::relation_verb;
using relation_change = storage::pg::relation_change;  // POST /api/v1/accounts/:id/<verb>, /api/v1/follow_requests/:id/<verb>
// One change for the relationships batcher, and its per-item outcome.
using relation_item = storage::pg::relation_item;
using relation_outcome = storage::pg::relation_outcome;

struct relations_query {      // GET /api/v1/accounts/relationships
  std::int64_t me = 0;
  std::vector<std::int64_t> ids;
};

struct relationship_list {
  std::vector<storage::pg::relationship_row> items;
};

struct people_list_query {    // followers, following, follow requests, blocks, mutes
  storage::pg::people_kind kind = storage::pg::people_kind::followers;
  std::int64_t me = 0;
  std::int64_t account = 0;
  storage::pg::page page;
};

// One interaction for the interactions batcher (id pre-assigned for new rows), and
// its outcome: the status after the action, or an error for this item alone.
using action_item = storage::pg::action_item;
using action_outcome = storage::pg::action_outcome;

// What the status-creation batcher takes: the fields to store, whose content,
// mention_ids and tags are still to be filled from the text (on the pool worker,
// with one look-up of the mentioned usernames per batch; see actors/statuses).
struct status_draft {
  storage::pg::new_status fields;
  std::string base_url;  // for links in the rendered content
};

// What the status-creation batcher answers per request.
struct status_created {
  storage::pg::create_result result;
  status_view view;
};


// ---- Feeds, hot statuses and trends ----------------------------------------
// Events flow one way, after the write committed: statuses/relationships →
// feeds (and trends). `at_ns` is the steady clock when the event was made, for
// the fan-out and revocation lag histograms.

struct feed_post {            // a status (or reblog) was created
  storage::pg::feed_entry entry;
  std::int64_t reblog_of_id = 0;
  std::int64_t in_reply_to_id = 0;       // 0: not a reply
  std::int64_t in_reply_to_account = 0;
  std::int16_t visibility = 0;
  std::vector<std::int64_t> mentions;
  std::vector<std::string> tags;         // lower-case names
  std::string language;
  std::int64_t at_ns = 0;     // 0: not timed
};

struct feed_removal {         // statuses were deleted (by their author, an unreblog or a moderator)
  std::vector<std::int64_t> ids;
  std::int64_t author = 0;
  bool moderation = false;
  std::int64_t at_ns = 0;
};

struct feed_relation {        // me → target changed (follow, unfollow, block, mute, …)
  std::int64_t me = 0;
  std::int64_t target = 0;
  relation_verb verb = relation_verb::follow;
  bool show_reblogs = true;
  std::int64_t at_ns = 0;
  // Filled by the feed manager for a follow: the followed account's follower
  // count and its recent statuses, merged into the follower's timeline.
  std::int64_t target_followers = 0;
  std::vector<storage::pg::ring_entry> merge;
};

struct feed_interaction {     // viewer favourited/bookmarked/reblogged status (or undid it)
  std::int64_t viewer = 0;
  std::int64_t status = 0;
  std::int64_t status_author = 0;
  status_verb verb = status_verb::favourite;
  std::int64_t at_ns = 0;
};

struct home_query {           // GET /api/v1/timelines/home
  std::int64_t viewer = 0;
  storage::pg::page page;
};

// The same read, answered through a callback instead of a response message: the
// HTTP layer's hottest path (no bridge actor, no per-request CAF timeout; every
// step behind it has its own deadline, so the callback always runs). Exactly one
// of the two arguments is set.
struct home_request {
  home_query q;
  std::function<void(const status_view*, const caf::error*)> reply;
};

// Feed actor internals: the manager pushes entries and revocations to live feeds.
struct feed_push {
  std::vector<storage::pg::feed_entry> entries;
};

struct feed_revoke {
  std::vector<std::int64_t> ids;        // these statuses
  std::int64_t author = 0;              // and/or everything by this author (0: none)
  bool with_reblogs_of_author = false;  // … and reblogs of this author's statuses
};

// Recent statuses of large authors, merged into home timelines at read time.
struct ring_query {
  std::vector<std::int64_t> authors;
};

struct ring_reply {
  std::vector<storage::pg::ring_entry> entries;  // newest first, all authors merged
};

struct hot_get {              // hot-status cache multi-get (viewer-independent rows)
  std::vector<std::int64_t> ids;
};

// A status rendered once as Mastodon JSON with the viewer's flags left open:
// text[0] slot[0] text[1] … text[n]; each slot is "true"/"false" for one flag
// (1 favourited, 2 reblogged, 4 bookmarked) of the status `flags_of` (the
// original, for reblogs).
struct rendered_status {
  std::vector<std::string> text;
  std::vector<std::uint8_t> slots;
  std::int64_t flags_of = 0;
};

using status_renderer = std::function<std::shared_ptr<const rendered_status>(const storage::pg::status_row&,
                                                                           const storage::pg::status_bundle&)>;

struct renderer_install {     // the HTTP layer hands its renderer to the hot-status cache
  status_renderer render;
};

struct hot_reply {
  storage::pg::status_bundle bundle;
  std::unordered_map<std::int64_t, std::shared_ptr<const rendered_status>> rendered;  // by status id, when a renderer is installed
};

struct hot_invalidate {
  std::vector<std::int64_t> statuses;
  std::vector<std::int64_t> accounts;
};

struct feed_stats {
  std::int64_t live = 0;
  std::uint64_t activations = 0;
  std::uint64_t passivations = 0;
  std::uint64_t rebuilds = 0;       // cold feeds rebuilt from Postgres
  std::uint64_t redis_loads = 0;    // cold feeds restored from Redis
  std::uint64_t pushes = 0;         // entries pushed by fan-out on write
  std::uint64_t revocations = 0;
};

struct trend_statuses_query { // GET /api/v1/trends/statuses
  std::int64_t viewer = 0;
  int limit = 20;
  int offset = 0;
};

struct trend_tags_query {     // GET /api/v1/trends/tags
  int limit = 10;
  int offset = 0;
};

struct tag_history_day {
  std::int64_t day = 0;        // Unix seconds of the UTC day start
  std::int64_t uses = 0;
  std::int64_t accounts = 0;
};

struct trend_tag {
  std::string name;
  double score = 0;
  std::vector<tag_history_day> history;  // newest day first, 7 days
};

struct trend_tag_list {
  std::vector<trend_tag> tags;
};

// ---- Jobs ------------------------------------------------------------------

struct job_work {             // a claimed job, handed to the handler actor of its kind
  std::int64_t id = 0;
  std::string queue;
  std::string kind;
  std::string payload;        // JSON text
  int attempt = 1;            // 1 for the first run
};

struct job_wake {             // jobs may be waiting in `queue` (NOTIFY chorus_jobs, or an enqueue on this node)
  std::string queue;
};

struct jobs_query {           // GET /api/v1/chorus/admin/jobs
  std::string queue;          // "" = all
  std::string state;          // "" = all; queued | running | dead
  std::int64_t before = 0;    // jobs with smaller ids (0 = from the newest)
  int limit = 50;
};

struct jobs_view {
  std::vector<storage::pg::queue_depth> queues;
  std::vector<storage::pg::job_row> jobs;
};

struct jobs_action {          // POST /api/v1/chorus/admin/jobs/:id/retry | replay
  std::vector<std::int64_t> ids;
  bool replay = false;        // false: run queued jobs now; true: queue dead jobs again
};

struct jobs_changed {
  std::vector<std::int64_t> ids;  // the ids that were changed
};

struct job_pool_stats {
  std::string queue;
  std::int64_t in_flight = 0;
  std::uint64_t claimed = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;   // attempts that failed and will be retried
  std::uint64_t dead = 0;     // attempts that failed the last time
  std::uint64_t claims = 0;   // claim statements run
};

} // namespace chorus::actors

// Local-only types: they carry closures or recursive reply trees and never cross nodes.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::db_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::redis_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::redis_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::blocking_call)
// Not yet inspectable (node-local for now); give them inspect() before they cross nodes.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::app_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::app_created)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::app_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::token_grant)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::token_issued)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::token_revoke)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::authorize_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::authorize_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::authorization)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::bearer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::auth_context)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::registration)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::account_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::credentials_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::instance_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::instance_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::storage::pg::account_row)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::status_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::status_create)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::status_get)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::status_action)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::timeline_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::context_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::people_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::account_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::status_draft)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::status_created)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::action_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::action_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::relation_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::relation_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::relation_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::relations_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::relationship_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::people_list_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::storage::pg::relationship_row)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::feed_post)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::feed_removal)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::feed_relation)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::feed_interaction)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::home_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::feed_push)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::feed_revoke)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::ring_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::ring_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::hot_get)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::home_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::hot_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::renderer_install)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::hot_invalidate)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::feed_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::trend_statuses_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::trend_tags_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::trend_tag_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::storage::pg::status_bundle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::job_work)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::job_wake)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::job_pool_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::jobs_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::jobs_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::jobs_action)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::jobs_changed)
