#pragma once
// The actor half of the composition root: builds the CAF actor system, the
// registry and the actors in dependency order (Postgres pool, Redis, blocking
// pool, oauth, accounts, statuses, relationships, then the node actor) and tears
// them down in reverse.
#include "actors/registry/registry.hpp"
#include "actors/system/services.hpp"

#include "common/ids.hpp"

#include <caf/actor.hpp>
#include <memory>
#include <vector>
#include <string>

namespace caf { class actor_system; class actor_system_config; }
namespace chorus { struct config; }

namespace chorus::actors {

class runtime {
public:
  runtime(const config& cfg, metrics::registry& metrics);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Spawns the node actor once the HTTP address is known.
  void start_node(const std::string& http_address, const std::string& version);
  const services& svc() const noexcept { return svc_; }
  actor_registry& registry() noexcept { return registry_; }
  // Stops all actors (node, Redis, pool — reverse order) and waits for them.
  void shutdown();

private:
  void start_jobs();

  const config& cfg_;
  std::string incarnation_;  // this run of the node (job lease owners, heartbeat)
  actor_registry registry_;  // outlives the actor system (actors deregister on exit)
  id_generator ids_;
  std::unique_ptr<caf::actor_system_config> sys_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  services svc_;
  std::vector<caf::actor> jobs_;  // job pools, their NOTIFY listener, the scheduler and built-in handlers
  caf::actor shedder_;           // load shedding (actors/ratelimit/shedder.hpp)
  bool stopped_ = false;
};

} // namespace chorus::actors
