#pragma once
// Internal to actors/jobs: how a worker pool spawns a job session (its
// interface and messages are in actors/protocol). The public API is worker_pool.hpp.
#include "actors/protocol/interfaces.hpp"

#include <caf/fwd.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace chorus::actors::jobs_detail {

using actors::job_session_actor;
using actors::lock_batch;
using actors::lock_claim;
using actors::lock_finish;
using actors::lock_outcome;

// A session on its own connection to `dsn`, detached and linked to `pool`:
// it ends with the pool (its connection closes, its open batch rolls back and
// the jobs are free).
job_session_actor spawn_job_session(caf::local_actor* pool, std::string dsn, std::string owner,
                                    std::chrono::milliseconds idle_limit);

} // namespace chorus::actors::jobs_detail
