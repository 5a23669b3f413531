#pragma once
// Every atom Chorus actors speak, in one place. Atom text is at most 10 chars.
#include <caf/atom.hpp>
#include <caf/type_id.hpp>

namespace chorus::actors {

using caf::get_atom;
using caf::ok_atom;
using caf::tick_atom;

using done_atom = caf::atom_constant<caf::atom("done")>;         // worker → manager: job finished
using expire_atom = caf::atom_constant<caf::atom("expire")>;     // internal deadline fired
using conn_atom = caf::atom_constant<caf::atom("conn")>;         // worker → manager: connection state
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;       // ask an actor for its counters
using health_atom = caf::atom_constant<caf::atom("health")>;     // liveness
using ready_atom = caf::atom_constant<caf::atom("ready")>;       // readiness (dependencies reachable)
using nodes_atom = caf::atom_constant<caf::atom("nodes")>;       // list cluster nodes
using passivate_atom = caf::atom_constant<caf::atom("passivate")>; // feed manager → feed: quit, state is in Redis
using rl_flush_atom = caf::atom_constant<caf::atom("rlflush")>;  // rate-limit shard → itself: send the batch
using rl_lease_atom = caf::atom_constant<caf::atom("rllease")>;  // rate-limit shard → itself: end leases
using cluster_atom = caf::atom_constant<caf::atom("cluster")>;   // the cluster membership view
using flush_atom = caf::atom_constant<caf::atom("flush")>;       // an actor → itself: send what this turn collected
using migr_atom = caf::atom_constant<caf::atom("migrations")>;   // list applied migrations

} // namespace chorus::actors
