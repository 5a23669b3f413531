#pragma once
// Internal to actors/feed: the state of one user's feed actor, shared by its
// behaviour and page serving (feed_actor.cpp) and by its activation and Redis
// mirror (mirror.cpp).
#include "actors/feed/feed_actor.hpp"
#include "actors/feed/timeline.hpp"
#include "storage/redis/context.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <chrono>
#include <functional>
#include <vector>

namespace chorus::actors::feeds_detail {

namespace pg = storage::pg;
using clock_type = std::chrono::steady_clock;

// ---- The feed actor: one user's timeline ----------------------------------

// Whoever waits for a page: a request's response promise or a home_request's callback.
struct answer {
  caf::typed_response_promise<status_view> promise;
  std::function<void(const status_view*, const caf::error*)> callback;

  void deliver(status_view v) {
    if (callback)
      callback(&v, nullptr);
    else
      promise.deliver(std::move(v));
  }
  void deliver(caf::error e) {
    if (callback)
      callback(nullptr, &e);
    else
      promise.deliver(std::move(e));
  }
};

struct pending_read {
  home_query q;
  answer rp;
};

struct feed_state {
  static inline const char* name = "chorus.feed";
  account_id viewer;
  std::shared_ptr<const feed_deps> deps;
  feed::timeline tl;
  feed::viewer_facts facts;
  feed::flag_cache flags;
  clock_type::time_point flags_at = clock_type::now();
  clock_type::time_point snapshot_at = clock_type::now();  // follows and hidden accounts last read
  bool ready = false;
  bool quit_when_ready = false;
  std::vector<pending_read> waiting;
  std::vector<std::function<void()>> deferred;  // events that arrived while loading
  // Rendered pages, reused while nothing in this feed changed and for at most
  // page_cache (counters of other people's interactions show up after that).
  struct cached_page {
    pg::page key;
    status_view view;
    clock_type::time_point at;
    std::uint64_t version = 0;
  };
  std::vector<cached_page> pages;  // at most 2 (page 1 and the page being walked), dropped after page_cache
  bool expiry_pending = false;     // an expire_atom is on its way
  std::uint64_t version = 0;       // bumped by every change to entries, facts or flags
  // Other nodes' feed managers that cached a page of this feed (they asked for
  // one within page_cache): told at the next change (or passivation), then forgotten.
  std::vector<std::pair<caf::strong_actor_ptr, clock_type::time_point>> watchers;

  void changed() {
    ++version;
    if (!watchers.empty())
      tell_watchers();
  }
  void tell_watchers();
};

using feed_ptr = feed_actor::stateful_pointer<feed_state>;

// Answers a page read once the feed is ready (feed_actor.cpp).
void serve(feed_ptr self, home_query q, answer rp);

// The feed's mirror in Redis and its activation (mirror.cpp).
void write_mirror(feed_ptr self, storage::redis::command cmd);
void activate(feed_ptr self);
void maybe_sync(feed_ptr self);

} // namespace chorus::actors::feeds_detail
