#pragma once
// The conversations actor (one per node): direct-message conversations as
// Mastodon's /api/v1/conversations shows them, kept by background jobs that
// direct statuses enqueue in their own transaction (storage/pg/conversations.hpp),
// and published to each participant's `direct` stream after every change.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "common/ids.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::actors {

struct conversations_options {
  std::chrono::milliseconds timeout{5'000};  // each pool job
  streams_actor streams;                     // where `conversation` events go (may be null: none are rendered)
};

conversations_actor spawn_conversations(caf::actor_system& sys, conversations_options opts, pg_pool_actor pool,
                                        id_generator& ids, actor_registry& reg);

} // namespace chorus::actors
