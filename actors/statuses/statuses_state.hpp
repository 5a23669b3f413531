#pragma once
// Internal to actors/statuses: the statuses actor's state (statuses.cpp), one
// method per message, and the decisions it takes: what to answer for a create
// or an interaction, and what feeds and trends hear about it. The decisions are
// plain functions, no actor and no database, so tests call them directly.
#include "actors/statuses/statuses.hpp"

#include <caf/error.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <optional>

namespace chorus::actors {

// ---- Decisions ------------------------------------------------------------------

namespace statuses_rules {

// What the create batcher stores: the new id, author and application from the token.
status_draft draft_of(status_create& req, status_id id);

// not_found for a reply to a status that does not exist; none otherwise.
caf::error check_created(const model::create_result& r);

// The error of an interaction refused for this item alone; none otherwise.
caf::error check_outcome(const action_outcome& o);

// What feeds and trends hear about a committed post; none for an empty bundle.
std::optional<feed_post> post_event(const model::status_bundle& b, std::int64_t at_ns);

// What feeds and trends hear after an interaction committed: the new reblog's
// post, the removal of a deleted status or reblog, and the interaction itself.
struct action_events {
  std::optional<feed_post> post;
  std::optional<feed_removal> removal;
  std::optional<feed_interaction> interaction;
};
action_events events_of(const status_action& a, const action_outcome& o, std::int64_t at_ns);

} // namespace statuses_rules

// ---- State -----------------------------------------------------------------------

class statuses_state;
using statuses_ptr = statuses_actor::stateful_pointer<statuses_state>;

class statuses_state {
public:
  static inline const char* name = "chorus.statuses";

  explicit statuses_state(statuses_ptr self) : self_(self) {}

  // Spawns the two batchers (creates, interactions), linked to this actor.
  void init(statuses_options opts, pg_pool_actor pool, id_generator* ids, actor_registry* reg,
            status_listeners listeners);

  // One per message of statuses_actor.
  caf::result<status_view> create(status_create& req);
  caf::result<status_view> act(const status_action& a);
  caf::result<status_view> read(const status_get& q);
  caf::result<status_view> timeline(const timeline_query& q);
  caf::result<status_view> context(const context_query& q);
  caf::result<account_list> people(const people_query& q);

private:
  using promise = caf::typed_response_promise<status_view>;

  // status_create: batched (or create_one, without batching) → created
  void create_one(status_draft draft, promise rp);
  void created(status_created& c, promise rp);
  // status_action: batched → acted
  void acted(const status_action& a, action_outcome& o, promise rp);

  void announce_post(const model::status_bundle& b);
  void announce(const statuses_rules::action_events& ev);
  template <class Event>
  void tell(const Event& ev);  // trends first, then feeds

  statuses_ptr self_;
  statuses_options opts_;
  pg_pool_actor pool_;
  batcher_actor<status_draft, status_created> writer_;
  batcher_actor<action_item, action_outcome> actions_;
  id_generator* ids_ = nullptr;
  std::shared_ptr<actor_stats> stats_;
  status_listeners listeners_;
};

} // namespace chorus::actors
