#pragma once
// What the HTTP layer may talk to: actor handles plus read-only process services.
// Built by actors::runtime (actors/system/runtime.cpp) in dependency order.
#include "actors/protocol/interfaces.hpp"

#include <memory>
#include <string>

namespace caf { class actor_system; }
namespace chorus { struct config; }
namespace chorus::metrics { class registry; }

namespace chorus::actors {

class actor_registry;
class token_cache;
class limiter;
struct shed_signal;

struct services {
  caf::actor_system* system = nullptr;
  const config* cfg = nullptr;
  actor_registry* registry = nullptr;
  metrics::registry* metrics = nullptr;
  pg_pool_actor pg;
  redis_actor redis;
  node_actor node;
  cluster_actor cluster;
  blocking_pool_actor cpu;
  oauth_actor oauth;
  accounts_actor accounts;
  statuses_actor statuses;
  relationships_actor relationships;
  status_cache_actor status_cache;
  feeds_actor feeds;
  streams_actor streams;  // streaming outboxes and delivery (actors/streams)
  notifications_actor notifications;  // notification jobs, endpoints and markers (actors/notifications)
  trends_actor trends;
  conversations_actor conversations;  // direct-message conversations (actors/conversations)
  jobs_admin_actor jobs;
  std::shared_ptr<token_cache> tokens;  // written by the oauth actor, read by HTTP authentication
  std::shared_ptr<limiter> limits;      // rate-limit shards; null when ratelimit.enabled is false
  std::shared_ptr<shed_signal> shed;    // load-shedding level (actors/ratelimit/shedder.hpp)
  std::string base_url;  // public URL of this instance, no trailing slash
};

} // namespace chorus::actors
