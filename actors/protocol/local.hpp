#pragma once
// Node-local messages: they carry closures, shared pointers or one node's
// connections and batches, so they never cross nodes. Each is marked with
// CAF_ALLOW_UNSAFE_MESSAGE_TYPE (no wire form); a remote actor offering one of
// them would be a design error. The remote part of the catalogue is
// messages.hpp; wire.hpp registers it.
#include "actors/protocol/messages.hpp"
#include "storage/pg/jobs.hpp"
#include "storage/pg/relationships.hpp"
#include "storage/pg/statuses.hpp"
#include "common/gcra.hpp"
#include "storage/redis/context.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace pqxx { class connection_base; }

namespace chorus::actors {

// ---- Pools: work for one node's connections and threads ---------------------

// A unit of Postgres work run by a pool worker on its own connection. `run` opens
// and commits its own transaction(s) and writes its results into state it captured
// (e.g. a shared_ptr); exceptions are translated and returned as the reply error.
// `items` says how many logical requests this call carries (a batch of N → N).
struct db_call {
  std::string name;
  std::function<void(pqxx::connection_base&)> run;
  std::uint32_t items = 1;
};

// Blocking work for the blocking pool (no connection): runs on a worker thread.
struct blocking_call {
  std::string name;
  std::function<void()> run;
};

// One client request to the Redis actor: its commands go out in one pipeline
// (possibly together with other clients' commands) and come back in order.
struct redis_request {
  std::vector<storage::redis::command> commands;
};

struct redis_result {
  std::vector<storage::redis::reply> replies;
};

// ---- Batch items: one request inside a group commit -------------------------

// What the status-creation batcher takes: the fields to store, whose content,
// mention_ids and tags are still to be filled from the text (on the pool worker,
// with one look-up of the mentioned usernames per batch; see actors/statuses).
struct status_draft {
  model::new_status fields;
  std::string base_url;  // for links in the rendered content
};

// What the status-creation batcher answers per request.
struct status_created {
  model::create_result result;
  status_view view;
};

// One interaction for the interactions batcher (id pre-assigned for new rows), and
// its outcome: the status after the action, or an error for this item alone.
using action_item = storage::pg::action_item;
using action_outcome = storage::pg::action_outcome;
// One relationship change for the relationships batcher, and its outcome.
using relation_item = storage::pg::relation_item;
using relation_outcome = storage::pg::relation_outcome;

// ---- Home timeline: the HTTP layer's callback path ---------------------------

// A home-timeline read answered through a callback instead of a response
// message: the HTTP layer's hottest path (no bridge actor, no per-request CAF
// timeout; every step behind it has its own deadline, so the callback always
// runs). Exactly one of the two arguments is set. A remote feed is asked with
// home_query instead.
struct home_request {
  home_query q;
  std::function<void(const status_view*, const caf::error*)> reply;
};

// ---- Cluster: the cluster actor and this node's feed manager ------------------

// The members that own users now (alive or suspect, this node included), sent to
// the feed manager on every change. `rejoined`: a member came back after being
// seen gone (events sent to it meanwhile may be lost: live feeds are rebuilt).
struct member_route {
  std::string name;
  caf::strong_actor_ptr feeds;  // its feed manager (this node's own for self)
  caf::strong_actor_ptr streams;  // its streams actor (this node's own for self)
};

struct cluster_members {
  std::string self;
  std::vector<member_route> members;
  std::uint64_t epoch = 0;      // bumps on every change
  bool rejoined = false;
};

// Runtime → cluster actor once the cluster port is published: start joining.
struct cluster_start {
  caf::strong_actor_ptr feeds;   // this node's feed manager
  caf::strong_actor_ptr cache;   // this node's hot-status cache
  caf::strong_actor_ptr streams; // this node's streams actor
  std::string address;           // advertised host:port ("" when clustering is off)
  std::string http_address;
  std::string version;           // chorusd's
};

// ---- Hot-status cache (one per node) -----------------------------------------

struct hot_get {              // multi-get of viewer-independent rows
  std::vector<status_id> ids;
};

// A status rendered once as Mastodon JSON with the viewer's flags left open:
// text[0] slot[0] text[1] … text[n]; each slot is "true"/"false" for one flag
// (1 favourited, 2 reblogged, 4 bookmarked) of the status `flags_of` (the
// original, for reblogs).
struct rendered_status {
  std::vector<std::string> text;
  std::vector<std::uint8_t> slots;
  status_id flags_of;
};

using status_renderer =
  std::function<std::shared_ptr<const rendered_status>(const model::status&, const model::status_bundle&)>;

struct renderer_install {     // the HTTP layer hands its renderer to the hot-status cache
  status_renderer render;
};

struct hot_reply {
  model::status_bundle bundle;
  std::unordered_map<status_id, std::shared_ptr<const rendered_status>> rendered;  // when a renderer is installed
};

// ---- Notifications (one actor per node) ----------------------------------------

// Renders a notification as Mastodon's Notification JSON (its account and status
// from the bundle), for the streams' `notification` events.
using notification_renderer =
  std::function<std::string(const model::notification&, const model::status_bundle&)>;

struct notification_renderer_install {  // the HTTP layer hands its renderer to the notifications actor
  notification_renderer render;
};

// ---- Conversations: the HTTP layer's renderer for stream events ---------------

// Renders one Conversation entity (Mastodon JSON) for its owner from the
// conversation and its hydrated bundle; installed by chorusd once base_url is known.
using conversation_renderer =
  std::function<std::string(const model::conversation&, const model::status_bundle&)>;

struct conversation_renderer_install {
  conversation_renderer render;
};

// ---- Job sessions (locked claims) --------------------------------------------

struct lock_claim {
  std::string queue;
  int n = 0;
};

struct lock_batch {
  std::vector<model::job> jobs;
};

struct lock_finish {
  std::vector<job_id> done;
  std::vector<storage::pg::job_failure> failed;
};

struct lock_outcome {
  std::size_t completed = 0;
  std::vector<storage::pg::failed_job> failed;
};

// ---- Streaming (actors/streams) -------------------------------------------------

class stream_sink;  // actors/streams/sink.hpp: the HTTP layer's hub

struct stream_sink_install {  // the HTTP layer hands its hub to this node's streams actor
  std::shared_ptr<stream_sink> sink;
};

// This node's connections start (on) or stop (off) streaming `user`'s streams.
// With since >= 0 the reply carries what the user's outbox holds after it;
// `reply` runs on the streams actor (exactly one of its arguments is set).
struct stream_watch {
  account_id user;
  bool on = true;
  std::int64_t since = -1;
  std::function<void(const outbox_replay*, const caf::error*)> reply;
};

// The fan-out job delivered a status (feeds → this node's streams actor):
// `update` on its recipients' user streams and, for a public status, on the
// shared streams of every node.
struct stream_status {
  status_id id;
  account_id author;
  std::int16_t visibility = 0;
  bool reblog = false;
  account_id in_reply_to_account;
  std::vector<std::int64_t> recipients;
  account_id origin_author;  // a reblog: the reblogged status's author
  bool large = false;        // the author has more than feed.fanout_max_followers followers: no recipients but the author
};

// The revocation job removed statuses (feeds → this node's streams actor):
// `delete` on every shared stream and the user streams of `accounts`.
struct stream_removal {
  std::vector<status_id> ids;
  std::vector<std::int64_t> accounts;
};

// The accounts a viewer's streams must not show (blocks both ways, mutes);
// `reply` runs on a pool worker's completion (null on error).
struct viewer_hidden {
  account_id viewer;
  std::function<void(const std::vector<std::int64_t>*)> reply;
};

// ---- Rate limits ---------------------------------------------------------------

// One decision (or, with cost < 0, a refund of -cost requests).
struct rl_check {
  std::uint32_t policy = 0;
  std::string key;                                          // "a:<account>", "ip:<address>", …
  std::int64_t cost = 1;
  std::function<void(const ratelimit::decision&)> reply;   // runs on the shard; may be empty
  bool no_lease = false;                                    // decide this request alone
  bool renew = false;                                       // no request: the bucket's next lease,
  bool grow = false;                                        // twice as big (its tokens ran low)
};

} // namespace chorus::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::db_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::blocking_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::redis_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::redis_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::status_draft)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::status_created)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::action_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::action_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::relation_item)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::relation_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::home_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::cluster_members)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::cluster_start)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::hot_get)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::hot_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::renderer_install)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::notification_renderer_install)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::lock_claim)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::lock_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::lock_finish)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::lock_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::rl_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::conversation_renderer_install)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::stream_sink_install)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::stream_watch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::stream_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::stream_removal)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::viewer_hidden)
