#pragma once
// The typed interface of every Chorus actor role: one alias per role, one line per handler.
// Roles whose handlers take only messages.hpp types may be reached from another
// node; the others (pools, workers, batchers, the hot-status cache, job
// sessions, rate-limit shards) take node-local messages (local.hpp) and serve
// their own node only.
#include "actors/protocol/atoms.hpp"
#include "actors/protocol/local.hpp"
#include "actors/protocol/messages.hpp"
#include "actors/protocol/worker.hpp"

#include <caf/error.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <vector>

namespace chorus::actors {

// Postgres pool manager: queues db_calls (bounded) and hands them to detached workers.
using pg_pool_actor = caf::typed_actor<
  caf::replies_to<db_call>::with<ok_atom>,                         // run on a pooled connection
  caf::replies_to<stats_atom>::with<pool_status>,                  // counters snapshot
  caf::reacts_to<done_atom, std::uint32_t, std::uint64_t, bool, caf::error>,  // worker i finished job id
  caf::reacts_to<conn_atom, std::uint32_t, bool>,                  // worker i connection up/down
  caf::reacts_to<expire_atom, std::uint64_t>>;                     // job deadline passed

// One pooled Postgres connection on its own thread (spawned detached by the pool).
using pg_worker_actor = worker_actor<db_call>;

// Redis manager: coalesces concurrent requests into pipelines for its connection worker.
using redis_actor = caf::typed_actor<
  caf::replies_to<redis_request>::with<redis_result>,              // run commands, replies in order
  caf::replies_to<stats_atom>::with<redis_status>,                 // counters snapshot
  caf::reacts_to<done_atom, std::uint32_t, std::uint64_t, bool, caf::error>, // worker finished pipeline id
  caf::reacts_to<conn_atom, std::uint32_t, bool>>;                 // worker connection up/down

// One Redis connection on its own thread.
using redis_worker_actor = worker_actor<redis_call>;

// Per-node status: liveness, readiness of dependencies, cluster node list, heartbeat.
using node_actor = caf::typed_actor<
  caf::replies_to<health_atom>::with<ok_atom>,                     // the actor system is responsive
  caf::replies_to<ready_atom>::with<readiness>,                    // Postgres, Redis, schema checked now
  caf::replies_to<nodes_atom>::with<std::vector<node_entry>>,      // nodes table
  caf::replies_to<migr_atom>::with<std::vector<migration_entry>>,  // schema_migrations
  caf::reacts_to<tick_atom>>;                                      // heartbeat timer

// Bounded pool for CPU-heavy or blocking work without a connection.
using blocking_pool_actor = caf::typed_actor<
  caf::replies_to<blocking_call>::with<ok_atom>,                   // run on a worker thread
  caf::reacts_to<done_atom, std::uint32_t, std::uint64_t, bool, caf::error>,  // worker i finished job id
  caf::reacts_to<conn_atom, std::uint32_t, bool>>;                 // (always up: its workers own no connection)

using blocking_worker_actor = worker_actor<blocking_call>;

// OAuth: applications, token grants, revocation, and bearer-token authentication
// (cached per node for oauth.cache_ttl).
using oauth_actor = caf::typed_actor<
  caf::replies_to<app_spec>::with<app_created>,                    // register an application
  caf::replies_to<app_query>::with<app_created>,                   // an application by id, without its secrets
  caf::replies_to<token_grant>::with<token_issued>,                // password / client_credentials / authorization_code
  caf::replies_to<authorize_check>::with<authorization>,           // validate an authorization request
  caf::replies_to<authorize_request>::with<authorization>,         // sign in + approve → authorization code
  caf::replies_to<token_revoke>::with<ok_atom>,                    // revoke a token of the app
  caf::replies_to<bearer>::with<auth_context>>;                    // who is this token? (unauthorized if none)

// Local accounts: registration (account, user and first token in one
// transaction), profile reads and edits.
using accounts_actor = caf::typed_actor<
  caf::replies_to<registration>::with<token_issued>,               // create account + user, return its token
  caf::replies_to<account_query>::with<model::account>,  // by id or username (not_found)
  caf::replies_to<credentials_update>::with<model::account>,  // edit own profile
  caf::replies_to<instance_query>::with<instance_stats>>;          // counts for the instance endpoints (cached 60 s)

// Statuses: creation and interactions go through batchers (group commit, one pool
// job per batch); each read is one pool job that hydrates with one multi-get.
using statuses_actor = caf::typed_actor<
  caf::replies_to<status_create>::with<status_view>,               // post (Idempotency-Key aware)
  caf::replies_to<status_get>::with<status_view>,                  // one status, if visible (not_found)
  caf::replies_to<status_action>::with<status_view>,               // favourite, reblog, bookmark, delete, …
  caf::replies_to<timeline_query>::with<status_view>,              // public, tag, account, favourites, bookmarks
  caf::replies_to<context_query>::with<status_view>,               // ancestors and descendants
  caf::replies_to<people_query>::with<account_list>>;              // favourited_by, reblogged_by

// Follows, follow requests, blocks and mutes between local accounts. Changes go
// through a batcher (one transaction per batch, a savepoint per change).
using relationships_actor = caf::typed_actor<
  caf::replies_to<relation_change>::with<model::relationship>,  // change, answer the new relationship
  caf::replies_to<relations_query>::with<relationship_list>,              // relationships to several accounts
  caf::replies_to<people_list_query>::with<account_list>>;                // paginated account lists


// Hot-status cache: viewer-independent status rows and their accounts for the
// statuses read most; misses are loaded with one multi-get per batch.
using status_cache_actor = caf::typed_actor<
  caf::replies_to<hot_get>::with<hot_reply>,                       // rows (+ JSON templates) for ids, missing skipped
  caf::reacts_to<hot_invalidate>,                                  // drop changed statuses/accounts
  caf::reacts_to<renderer_install>,                                // render templates from now on
  caf::reacts_to<tick_atom>>;                                      // (self) drop expired entries

// One user's home timeline (virtual actor: activated on first use by the feed
// manager, passivated when idle or least recently used; its mirror is in Redis).
using feed_actor = caf::typed_actor<
  caf::replies_to<home_query>::with<status_view>,                  // a page, hydrated
  caf::reacts_to<home_request>,                                    // the same, answered through its callback
  caf::reacts_to<feed_push>,                                       // new entries (fan-out on write)
  caf::reacts_to<feed_revoke>,                                     // remove entries
  caf::reacts_to<feed_relation>,                                   // this user's follows/blocks/mutes changed
  caf::reacts_to<feed_interaction>,                                // this user's favourite/bookmark/reblog flags
  caf::reacts_to<expire_atom>,                                     // drop rendered pages past feed.page_cache_ms
  caf::reacts_to<passivate_atom>>;                                 // quit (after pending loads)

// Feed manager: directory of live feed actors (activation, LRU passivation),
// hybrid fan-out on write, revocation, and the rings of large authors.
using feeds_actor = caf::typed_actor<
  caf::replies_to<home_query>::with<status_view>,                  // route to the viewer's feed actor
  caf::reacts_to<home_request>,                                    // the same, answered through its callback
  caf::reacts_to<feed_post>,                                       // the author's own timeline at once
  caf::reacts_to<feed_removal>,                                    // the author's own timeline, hot cache
  caf::reacts_to<feed_relation>,                                   // revoke/merge for unfollow, block, mute, follow
  caf::reacts_to<feed_interaction>,                                // viewer flags, hot-cache invalidation
  caf::replies_to<ring_query>::with<ring_reply>,                   // recent entries of large authors
  caf::replies_to<job_work>::with<ok_atom>,                        // feed.fanout / feed.revoke jobs
  caf::replies_to<feed_deliveries>::with<ok_atom>,                 // fan-out to users this node owns (from another node)
  caf::replies_to<feed_revocation>::with<ok_atom>,                 // revocation for users this node owns (from another node)
  caf::reacts_to<cluster_members>,                                 // who owns users now (from the cluster actor)
  caf::reacts_to<feed_changed>,                                    // an owner's feed changed: drop its cached pages
  caf::replies_to<stats_atom>::with<feed_stats>,                   // counters
  caf::reacts_to<tick_atom>>;                                      // idle passivation sweep

// Streaming (one per node): sequences each user's events in that user's outbox
// on the node that owns the user, and delivers events to the node's streaming
// connections. Anyone may publish; the actor routes to the owner.
using streams_actor = caf::typed_actor<
  caf::reacts_to<user_stream_event>>;                              // publish to one user's streams

// Notifications (one per node): runs the notification jobs (queue
// "notifications": blocks, mutes and the recipient's policy decide; filtered
// ones become notification requests), publishes each new visible notification
// to the recipient's streams, and serves the notification, policy, request and
// marker endpoints (one pool job per request).
using notifications_actor = caf::typed_actor<
  caf::replies_to<notification_query>::with<notification_view>,  // the endpoints (op says which)
  caf::replies_to<job_work>::with<ok_atom>,                        // notify.* jobs
  caf::reacts_to<notification_renderer_install>>;                  // render stream events from now on

// Direct-message conversations (one per node): each viewer's list, mark read,
// delete for the viewer; runs the conversation.add/remove jobs that direct
// statuses enqueue, and publishes each change to the participants' direct streams.
using conversations_actor = caf::typed_actor<
  caf::replies_to<conversation_query>::with<conversation_view>,    // a page, hydrated (Link cursors)
  caf::replies_to<conversation_action>::with<conversation_view>,   // read: the conversation; remove: empty
  caf::replies_to<job_work>::with<ok_atom>,                        // conversation.add / conversation.remove
  caf::reacts_to<conversation_renderer_install>>;                  // render stream events from now on

// The streams actor's whole interface (actors/streams): publishers hold it as
// streams_actor (the handle converts); the feeds, the cluster, other nodes'
// streams actors and the HTTP layer's streaming gateway use the rest.
using streams_node_actor = streams_actor::extend<
  caf::reacts_to<user_stream_batch>,                               // the same event to many users' streams
  caf::reacts_to<user_stream_delivery>,                            // (from an owner) a sequenced event for this node's hub
  caf::replies_to<outbox_watch>::with<outbox_replay>,              // (to the owner) a node starts/stops streaming a user
  caf::reacts_to<shared_stream_event>,                             // a status event for the shared streams (every node)
  caf::reacts_to<large_status_event>,                              // a large author's status for its streaming followers (every node)
  caf::reacts_to<feed_relation>,                                   // blocks/mutes change what streams show (every node)
  caf::reacts_to<cluster_members>,                                 // who owns users now (from the cluster actor)
  caf::reacts_to<stream_sink_install>,                             // the HTTP layer's hub
  caf::reacts_to<stream_watch>,                                    // this node's connections start/stop a user's streams
  caf::reacts_to<stream_status>,                                   // (feeds) a status was fanned out
  caf::reacts_to<stream_removal>,                                  // (feeds) statuses were revoked
  caf::reacts_to<viewer_hidden>,                                   // a viewer's blocks and mutes, from Postgres
  caf::replies_to<stats_atom>::with<stream_stats>,                 // counters
  caf::reacts_to<flush_atom>,                                      // (itself) append this turn's events to Redis
  caf::reacts_to<tick_atom>>;                                      // expire outboxes past the resume window

// One per node: joins the other nodes (handshake over the shared secret, protocol
// version check), keeps the membership view (alive, suspect, gone) from pings and
// connection state, tells the feed manager who owns users, and broadcasts the
// events every node's caches need (token revocations, hot-status invalidations).
using cluster_actor = caf::typed_actor<
  caf::reacts_to<cluster_start>,                                   // port published: start joining
  caf::replies_to<cluster_hello>::with<cluster_challenge>,         // a node opens a join
  caf::replies_to<cluster_join>::with<cluster_welcome>,            // … and proves the secret
  caf::replies_to<cluster_ping>::with<cluster_pong>,               // liveness and round trip
  caf::reacts_to<token_revoked>,                                   // forget a token (local: tell every member)
  caf::reacts_to<hot_invalidate>,                                  // drop from hot caches (local: every member's)
  caf::replies_to<cluster_atom>::with<cluster_status>,             // the membership view
  caf::reacts_to<tick_atom>>;                                      // pings, timeouts, discovery

// Trending statuses and tags from time-decayed scores kept incrementally.
using trends_actor = caf::typed_actor<
  caf::reacts_to<feed_post>,                                       // tag uses, replies
  caf::reacts_to<feed_interaction>,                                // favourites, reblogs
  caf::reacts_to<feed_removal>,                                    // drop removed statuses
  caf::replies_to<trend_statuses_query>::with<status_view>,        // hydrated, most trending first
  caf::replies_to<trend_tags_query>::with<trend_tag_list>,
  caf::reacts_to<tick_atom>>;                                      // prune decayed entries

// Runs one kind of background job; an error reply (or the kind's timeout) fails
// the attempt, which is retried with backoff. Handlers must be idempotent: a job
// runs at least once (a worker that dies mid-job loses its lease).
using job_handler_actor = caf::typed_actor<
  caf::replies_to<job_work>::with<ok_atom>>;

// One worker pool per queue: claims batches with FOR UPDATE SKIP LOCKED, runs
// them on their kinds' handlers with bounded concurrency, completes and fails
// them in batches.
using job_pool_actor = caf::typed_actor<
  caf::reacts_to<job_wake>,                                        // jobs may be waiting: claim
  caf::reacts_to<tick_atom>,                                       // safety poll, lease sweep, gauges
  caf::replies_to<stats_atom>::with<job_pool_stats>>;              // counters

// The operator's view of the jobs table (admin API): queue depths, listing,
// retry-now and replay of dead jobs, each one pool job.
// Group commit: a batcher collects concurrent Items and runs them as one pool
// job (actors/db/batcher.hpp), answering each with its own Result or error.
template <class Item, class Result>
using batcher_actor = caf::typed_actor<typename caf::replies_to<Item>::template with<Result>>;

// A worker pool's session for locked claims (worker_pool_options::locked): a
// claimed batch stays locked in one open transaction until it is finished.
using job_session_actor = caf::typed_actor<
  caf::replies_to<lock_claim>::with<lock_batch>,                   // claim up to n jobs, keep them locked
  caf::replies_to<lock_finish>::with<lock_outcome>>;               // complete/fail them, commit

// One rate-limit shard (actors/ratelimit): a detached actor with its own Redis
// connection deciding the checks of its buckets in batches (limiter.hpp).
using limiter_shard_actor = caf::typed_actor<
  caf::reacts_to<rl_check>,                                        // decide (reply through its callback)
  caf::reacts_to<rl_flush_atom>,                                   // (itself) send what arrived as one batch
  caf::reacts_to<rl_lease_atom>,                                   // (itself) end leases past their time
  caf::reacts_to<reconnect_atom>>;                                 // (itself, after a backoff) reopen Redis

// Load shedding: samples queue depth and pool wait and publishes the level.
using shedder_actor = caf::typed_actor<
  caf::reacts_to<tick_atom>>;                                      // (itself) sample, publish, schedule the next

using jobs_admin_actor = caf::typed_actor<
  caf::replies_to<jobs_query>::with<jobs_view>,
  caf::replies_to<jobs_action>::with<jobs_changed>>;

} // namespace chorus::actors
