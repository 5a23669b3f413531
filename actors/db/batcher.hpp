#pragma once
// Group commit / multi-get for Postgres: a batcher actor collects concurrent
// requests and runs them as ONE db_call (one statement: unnest/COPY/ANY($1)) on the
// pool. It flushes immediately while fewer than `max_in_flight` batches are running
// and accumulates otherwise, so a lone request pays no linger delay and a burst
// becomes a few large batches. Every request is answered after its batch commits.
// A batch that fails because of one item is split until that item is found
// (storage/pg/isolating_batch.hpp): only its request gets the error. Failures of
// the whole batch (connection lost, deadline, overload) fail every request.
//
// Usage (later issues): define `run` as one statement over all items, returning
// one Result per Item in the same order; spawn with spawn_batcher<Item, Result>().
#include "actors/protocol/errors.hpp"
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "storage/pg/isolating_batch.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

namespace chorus::actors {

template <class Item, class Result>
struct batch_spec {
  std::string name;                       // registry name and db_call name
  std::size_t max_batch = 256;            // items per statement at most
  std::size_t max_in_flight = 2;          // concurrent statements at most
  std::size_t queue_limit = 10'000;       // waiting items beyond this → overloaded
  std::chrono::milliseconds timeout{5000};
  // One statement for the whole batch; must return one Result per Item, in order.
  std::function<std::vector<Result>(pqxx::connection_base&, const std::vector<Item>&)> run;
};

// Queueing policy of a batcher, free of CAF so unit tests can drive it directly.
template <class Pending>
class batch_queue {
public:
  batch_queue(std::size_t max_batch, std::size_t max_in_flight, std::size_t limit)
    : max_batch_(max_batch), max_in_flight_(max_in_flight), limit_(limit) {}

  // False when the queue is full (the caller answers overloaded).
  bool push(Pending p) {
    if (queue_.size() >= limit_)
      return false;
    queue_.push_back(std::move(p));
    return true;
  }
  bool full() const noexcept { return queue_.size() >= limit_; }
  bool can_flush() const noexcept { return !queue_.empty() && in_flight_ < max_in_flight_; }
  // Takes the next batch (at most max_batch items) and counts it as in flight.
  std::vector<Pending> take() {
    std::vector<Pending> out;
    auto n = std::min(max_batch_, queue_.size());
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    ++in_flight_;
    return out;
  }
  void done() noexcept { --in_flight_; }
  std::size_t queued() const noexcept { return queue_.size(); }
  std::size_t in_flight() const noexcept { return in_flight_; }

private:
  std::size_t max_batch_;
  std::size_t max_in_flight_;
  std::size_t limit_;
  std::size_t in_flight_ = 0;
  std::deque<Pending> queue_;
};

namespace detail {

enum batcher_counter : std::size_t { b_queued, b_in_flight, b_batches, b_items, b_max_batch, b_errors, b_rejected,
                                     b_item_errors };

template <class Item, class Result>
struct batcher_state {
  static inline const char* name = "chorus.batcher";
  struct pending {
    Item item;
    caf::typed_response_promise<Result> rp;
  };
  batcher_state() : queue(1, 1, 1) {}
  batch_spec<Item, Result> spec;
  pg_pool_actor pool;
  batch_queue<pending> queue;
  std::shared_ptr<actor_stats> stats;
};

template <class Item, class Result>
void flush_batches(typename batcher_actor<Item, Result>::template stateful_pointer<batcher_state<Item, Result>> self) {
  auto& s = self->state;
  while (s.queue.can_flush()) {
    auto batch = std::make_shared<std::vector<typename batcher_state<Item, Result>::pending>>(s.queue.take());
    auto items = std::make_shared<std::vector<Item>>();
    items->reserve(batch->size());
    for (auto& p : *batch)
      items->push_back(p.item);
    auto outcomes = std::make_shared<std::vector<storage::pg::item_outcome<Result>>>();
    s.stats->add(b_batches);
    s.stats->add(b_items, static_cast<std::int64_t>(batch->size()));
    if (static_cast<std::int64_t>(batch->size()) > s.stats->get(b_max_batch))
      s.stats->set(b_max_batch, static_cast<std::int64_t>(batch->size()));
    // A batch the database aborted (deadlock, serialization failure) rolled back
    // entirely and runs again (three tries); one that failed because of an item
    // is split until the failing item is found, which alone gets the error.
    db_call call{s.spec.name,
                 [items, outcomes, run = s.spec.run](pqxx::connection_base& c) {
                   *outcomes = storage::pg::run_isolating<Result>(c, *items, run);
                 },
                 static_cast<std::uint32_t>(batch->size())};
    self->request(s.pool, s.spec.timeout, std::move(call))
      .then(
        [self, batch, outcomes](ok_atom) {
          auto& s = self->state;
          for (std::size_t i = 0; i < batch->size(); ++i) {
            auto& o = (*outcomes)[i];
            if (o.value) {
              (*batch)[i].rp.deliver(std::move(*o.value));
            } else {
              s.stats->add(b_item_errors);
              (*batch)[i].rp.deliver(make_error(o.code, std::move(o.error)));
            }
          }
          s.queue.done();
          flush_batches<Item, Result>(self);
        },
        [self, batch](caf::error& err) {
          auto& s = self->state;
          for (auto& p : *batch)
            p.rp.deliver(err);
          s.stats->add(b_errors);
          s.queue.done();
          flush_batches<Item, Result>(self);
        });
  }
  s.stats->set(b_queued, static_cast<std::int64_t>(s.queue.queued()));
  s.stats->set(b_in_flight, static_cast<std::int64_t>(s.queue.in_flight()));
}

template <class Item, class Result>
typename batcher_actor<Item, Result>::behavior_type
batcher_fn(typename batcher_actor<Item, Result>::template stateful_pointer<batcher_state<Item, Result>> self,
           pg_pool_actor pool, batch_spec<Item, Result> spec, actor_registry* reg) {
  auto& s = self->state;
  s.pool = std::move(pool);
  s.queue = batch_queue<typename batcher_state<Item, Result>::pending>(spec.max_batch, spec.max_in_flight,
                                                                        spec.queue_limit);
  s.stats = reg->enlist(self, "batcher", spec.name,
                        {"queued", "in_flight", "batches", "items", "max_batch", "errors", "rejected", "item_errors"});
  s.spec = std::move(spec);
  return {
    [self](Item& item) -> caf::result<Result> {
      auto& s = self->state;
      observe(self, *s.stats);
      // Refuse before making a promise: a promise takes over the request's reply.
      if (s.queue.full()) {
        s.stats->add(b_rejected);
        return make_error(errc::overloaded, "batch queue '" + s.spec.name + "' is full");
      }
      auto rp = self->template make_response_promise<Result>();
      s.queue.push({std::move(item), rp});
      flush_batches<Item, Result>(self);
      return rp;
    },
  };
}

} // namespace detail

template <class Item, class Result>
batcher_actor<Item, Result> spawn_batcher(caf::actor_system& sys, pg_pool_actor pool,
                                          batch_spec<Item, Result> spec, actor_registry& reg) {
  return sys.spawn(detail::batcher_fn<Item, Result>, std::move(pool), std::move(spec), &reg);
}

} // namespace chorus::actors
