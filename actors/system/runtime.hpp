#pragma once
// The actor half of the composition root: builds the CAF actor system, the
// registry and the actors in dependency order (Postgres pool, Redis, blocking
// pool, oauth, accounts, statuses, relationships, then the node actor) and tears
// them down in reverse.
#include "actors/registry/registry.hpp"
#include "actors/system/services.hpp"

#include "common/ids.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <memory>
#include <vector>
#include <string>

namespace caf { class actor_system; class actor_system_config; }
namespace chorus { struct config; }

namespace chorus::actors {

class lifecycle;

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
  // Stops all actors in reverse order of their start (node first, Postgres pool
  // last), awaiting each (actors/system/lifecycle.hpp), then waits for the rest.
  void shutdown();

private:
  void start_jobs();
  std::string start_cluster(const std::string& http_address, const std::string& version);

  const config& cfg_;
  std::string incarnation_;  // this run of the node (job lease owners, heartbeat)
  actor_registry registry_;  // outlives the actor system (actors deregister on exit)
  id_generator ids_;
  std::unique_ptr<caf::actor_system_config> sys_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<lifecycle> life_;  // every actor started here, with its stop step
  services svc_;
  std::shared_ptr<std::atomic<std::int64_t>> live_feeds_;  // written by the feed manager, read by the cluster actor
  bool stopped_ = false;
};

} // namespace chorus::actors
