#pragma once
// Internal to actors/jobs: the messages between a worker pool and its job
// sessions (locked claims, worker_pool_options::locked), and how a pool spawns
// a session. The public API is worker_pool.hpp.
#include "storage/pg/jobs.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <chrono>
#include <string>
#include <vector>

// Messages between a pool and its sessions (node-local, like all job messages).
namespace chorus::actors::jobs_detail {
struct lock_claim {
  std::string queue;
  int n = 0;
};
struct lock_batch {
  std::vector<storage::pg::job_row> jobs;
};
struct lock_finish {
  std::vector<std::int64_t> done;
  std::vector<storage::pg::job_failure> failed;
};
struct lock_outcome {
  std::size_t completed = 0;
  std::vector<storage::pg::failed_job> failed;
};
using job_session_actor = caf::typed_actor<caf::replies_to<lock_claim>::with<lock_batch>,
                                           caf::replies_to<lock_finish>::with<lock_outcome>>;

// A session on its own connection to `dsn`, detached and linked to `pool`:
// it ends with the pool (its connection closes, its open batch rolls back and
// the jobs are free).
job_session_actor spawn_job_session(caf::local_actor* pool, std::string dsn, std::string owner,
                                    std::chrono::milliseconds idle_limit);

} // namespace chorus::actors::jobs_detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::jobs_detail::lock_claim)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::jobs_detail::lock_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::jobs_detail::lock_finish)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(chorus::actors::jobs_detail::lock_outcome)
