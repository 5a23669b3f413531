#pragma once
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "common/ids.hpp"

#include <caf/fwd.hpp>
#include <chrono>

namespace chorus::actors {

relationships_actor spawn_relationships(caf::actor_system& sys, pg_pool_actor pool, id_generator& ids,
                                        actor_registry& reg, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                        feeds_actor feeds = {});

} // namespace chorus::actors
