#pragma once
// Internal to actors/feed: the feed manager's state, shared by its behaviour
// and live feeds (feeds_manager.cpp), fan-out and revocation (fanout.cpp) and
// the ordered mirror writes with their retry backlog (backlog.cpp).
#include "actors/feed/feed_actor.hpp"
#include "common/metrics.hpp"
#include "storage/pg/feeds.hpp"
#include "storage/redis/context.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace chorus::actors::feeds_detail {

namespace pg = storage::pg;
using clock_type = std::chrono::steady_clock;

enum counter : std::size_t {
  c_live, c_activations, c_passivations, c_hits, c_pushes, c_fanouts, c_ring_merges, c_revocations, c_errors
};

struct live_feed {
  feed_actor handle;
  std::list<std::pair<account_id, clock_type::time_point>>::iterator lru;
};

struct ring {
  std::deque<pg::ring_entry> entries;  // newest first
  bool loaded = false;
};

struct ring_waiter {
  std::vector<account_id> authors;
  caf::typed_response_promise<ring_reply> rp;
};

struct manager_state {
  static inline const char* name = "chorus.feeds";
  std::shared_ptr<feed_deps> deps;
  const feeds_options* opts = nullptr;
  std::unordered_map<account_id, live_feed> live;
  std::unordered_map<caf::actor_id, account_id> by_actor;  // live feed actor → viewer
  std::list<std::pair<account_id, clock_type::time_point>> lru;  // front: most recently used
  std::unordered_map<account_id, ring> rings;
  std::unordered_set<account_id> rings_loading;
  std::vector<ring_waiter> ring_waiters;
  // Fan-out jobs waiting for the next batch; each answers its job when done.
  struct fanout_work {
    status_id status;
    std::int64_t at_ms = 0;  // enqueued (wall clock), for the lag histogram
    caf::typed_response_promise<ok_atom> rp;
  };
  std::deque<fanout_work> fanout_queue;
  int fanouts_in_flight = 0;
  std::vector<account_id> touched;  // activated since the last flush (users.last_active_at)
  // Mirror writes that could not be made (Redis unreachable), kept in order and
  // retried every tick; while any wait, new writes queue behind them so that a
  // later removal is never overtaken by an earlier push.
  struct mirror_write {
    std::vector<storage::redis::command> cmds;
    std::function<void()> then;
  };
  std::deque<mirror_write> backlog;
  bool backlog_in_flight = false;
  std::uint64_t dropped_writes = 0;
  std::shared_ptr<actor_stats> stats;
  feed_stats counts;
  metrics::gauge* live_gauge = nullptr;
  metrics::counter* activations = nullptr;
  metrics::counter* passivations = nullptr;
  metrics::counter* reads_hit = nullptr;
  metrics::counter* reads_cold = nullptr;
  metrics::histogram* fanout_lag = nullptr;
  metrics::histogram* revocation_lag = nullptr;
  metrics::counter* writes_dropped = nullptr;
  metrics::histogram* stage_recipients = nullptr;  // fan-out batch: the recipients job
  metrics::histogram* stage_write = nullptr;       // fan-out batch: the mirror writes

  // Who owns which users (from the cluster actor): member names, sorted, and
  // their feed managers (this node's own included). Empty: this node alone.
  std::string self_name;
  std::vector<std::string> owner_names;
  std::vector<feeds_actor> owner_feeds;
  // Pages of users another node owns, as their owner rendered them: reused
  // until the owner's feed says it changed (feed_changed), ownership moves, or
  // page_cache passes. `gen` tells a reply that raced a change from a fresh one.
  struct remote_page {
    pg::page key;
    status_view view;
    clock_type::time_point until;
  };
  struct remote_pages {
    std::uint64_t gen = 0;
    std::vector<remote_page> pages;  // at most 2
  };
  std::unordered_map<account_id, remote_pages> remote_cache;
  std::uint64_t remote_gen = 0;
  // Reads waiting for another node, by its name: when that member leaves the
  // owners (it died), they are served here at once instead of after their
  // request timeout. `done` makes the first of answer, error and departure win.
  struct remote_read {
    bool done = false;
    std::function<void()> fallback;
  };
  std::unordered_map<std::string, std::vector<std::shared_ptr<remote_read>>> reads_in_flight;

  void publish() {
    counts.live = static_cast<std::int64_t>(live.size());
    if (deps->opts.live_count)
      deps->opts.live_count->store(counts.live);
    stats->set(c_live, counts.live);
    if (live_gauge)
      live_gauge->set(counts.live);
  }
};

using manager_ptr = feeds_actor::stateful_pointer<manager_state>;

const live_feed* find_live(manager_ptr self, account_id account);
// Ends a live feed (its state is in the mirror).
void passivate(manager_ptr self, account_id account);

// Mirror writes (backlog.cpp).
// Sends mirror writes (in order with any backlog); `then` runs once they are done.
void redis_send(manager_ptr self, std::vector<storage::redis::command> cmds, const char* what,
                std::function<void()> then);
// One backlog entry at a time, in order; stops at the first failure until the next tick.
void flush_backlog(manager_ptr self);

// Placement across the cluster (routing.cpp).
// True when the message being handled came from another node (it was routed
// here because this node owns its user: handle it here, never forward it).
bool from_other_node(manager_ptr self);
// True when it came from another node that is not a member (alive or suspect):
// refused, whatever it asks.
bool from_stranger(manager_ptr self);
// The index in owner_feeds of the member owning `account` when that is another
// node; -1 when this node owns it (or is alone).
int remote_owner(manager_ptr self, account_id account);
void on_members(manager_ptr self, cluster_members& m);
// Registers a read sent to `owner`; finish_read drops it once answered. Returns
// false when it was already settled (by its owner's departure).
void track_read(manager_ptr self, const std::string& owner, const std::shared_ptr<manager_state::remote_read>& r);
bool finish_read(manager_ptr self, const std::string& owner, const std::shared_ptr<manager_state::remote_read>& r);
// The cached page of a user another node owns, if fresh; else null.
const status_view* remote_page_for(manager_ptr self, account_id viewer, const pg::page& key);
// The generation to store a page under once the owner answers.
std::uint64_t remote_generation(manager_ptr self, account_id viewer);
// Keeps the owner's page unless the feed changed since `gen` was taken.
void keep_remote_page(manager_ptr self, account_id viewer, std::uint64_t gen, const pg::page& key,
                      const status_view& view);
ok_atom on_deliveries(manager_ptr self, feed_deliveries& d);
ok_atom on_revocation(manager_ptr self, feed_revocation& r);
// Drops statuses from the hot-status caches: every node's when the change
// happened here, this node's when another node told us.
void invalidate(manager_ptr self, hot_invalidate h);
// Requests to other nodes' feed managers, grouped by owner (the handles as they
// were when the work was split, so a membership change meanwhile cannot send
// one owner's part to another); `done` runs once all answered (with the first
// error, if any).
template <class Msg>
using owner_parts = std::vector<std::pair<feeds_actor, Msg>>;
template <class Msg>
owner_parts<Msg> by_owner_handle(manager_ptr self, std::map<int, Msg> parts);
void ask_owners(manager_ptr self, owner_parts<feed_deliveries> deliveries, owner_parts<feed_revocation> revocations,
                std::function<void(caf::error)> done);

// Fan-out and revocation (fanout.cpp).
void start_fanout(manager_ptr self);
// A large author's entry into its loaded ring (once, newest first), and ids out of every ring.
void ring_add(manager_state& s, const pg::ring_entry& e);
void ring_remove(manager_state& s, const std::vector<status_id>& ids);
void observe_revocation(manager_state& s, double lag_s);
void on_removal(manager_ptr self, const feed_removal& r);
void revoke_everywhere(manager_ptr self, std::vector<status_id> ids, std::int64_t at_ms,
                       caf::typed_response_promise<ok_atom> rp);

} // namespace chorus::actors::feeds_detail
