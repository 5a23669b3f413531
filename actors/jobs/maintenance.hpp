#pragma once
// Handlers of the built-in maintenance jobs (scheduled by every node, run once
// per period across the cluster): maintenance.prune_nodes deletes heartbeat rows
// of nodes not seen for `days` (default 7); maintenance.prune_cron_runs deletes
// scheduled-run records older than `days` (default 7). chorus.noop does nothing
// (health checks of a queue, and the jobs bench).
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <caf/fwd.hpp>

namespace chorus::actors {

job_handler_actor spawn_maintenance(caf::actor_system& sys, pg_pool_actor pool, actor_registry& reg);

// The admin API's access to the jobs table.
jobs_admin_actor spawn_jobs_admin(caf::actor_system& sys, pg_pool_actor pool, actor_registry& reg);

} // namespace chorus::actors
