#pragma once
// Background jobs as every layer sees them (see account.hpp).
#include "common/ids.hpp"

#include <cstdint>
#include <string>

namespace chorus::model {

struct job {
  job_id id;
  std::string queue;
  std::string kind;
  std::string payload;
  int priority = 0;
  int attempts = 0;
  int max_attempts = 0;
  std::string state;
  std::string unique_key;
  std::string last_error;
  std::string run_at;       // ISO 8601 UTC
  std::string created_at;
  std::string lease_owner;
};

struct queue_depth {
  std::string queue;
  std::int64_t queued = 0;      // waiting, runnable or not yet
  std::int64_t runnable = 0;    // waiting with run_at passed
  std::int64_t running = 0;
  std::int64_t dead = 0;
  double oldest_runnable_s = 0; // age of the oldest runnable job (0 when none)
};

} // namespace chorus::model
