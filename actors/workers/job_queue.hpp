#pragma once
// The manager's half of the detached-worker pattern (actors/workers/worker.hpp),
// free of CAF: a FIFO of jobs bounded by `limit` (a manager answers a job it
// cannot queue with errc::overloaded), which workers are busy and which have
// their resource open, and the jobs that waited longer than `max_wait`.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace chorus::actors {

template <class Job>
class job_queue {
public:
  using clock = std::chrono::steady_clock;

  struct entry {
    std::uint64_t id;
    Job job;
    clock::time_point enqueued;
  };

  struct start {
    std::uint32_t worker;  // busy from now on
    entry e;
  };

  job_queue(std::size_t workers, std::size_t limit, clock::duration max_wait)
    : busy_(workers, false), open_(workers, false), limit_(limit), max_wait_(max_wait) {}

  // No room: the next job would be refused.
  bool full() const noexcept { return queue_.size() >= limit_; }

  // Queues `job` (the caller checked full()); returns its id.
  std::uint64_t push(Job job, clock::time_point now) {
    auto id = next_id_++;
    queue_.push_back(entry{id, std::move(job), now});
    return id;
  }

  // The next job to start and its worker: the oldest queued job, on an idle
  // worker, preferring one whose resource is open. Jobs that waited longer than
  // max_wait are handed to `expired` instead, oldest first. nullopt: nothing
  // waits, or every worker is busy.
  template <class Expired>
  std::optional<start> next(clock::time_point now, Expired&& expired) {
    while (!queue_.empty()) {
      if (now - queue_.front().enqueued > max_wait_) {
        auto e = std::move(queue_.front());
        queue_.pop_front();
        expired(e);
        continue;
      }
      auto w = idle_worker();
      if (!w)
        return std::nullopt;
      busy_[*w] = true;
      start s{*w, std::move(queue_.front())};
      queue_.pop_front();
      return s;
    }
    return std::nullopt;
  }

  // Worker `w` finished its job; its resource is `open` now.
  void finished(std::uint32_t w, bool open) {
    busy_.at(w) = false;
    open_.at(w) = open;
  }
  // Worker `w`'s resource opened or was lost.
  void set_open(std::uint32_t w, bool open) { open_.at(w) = open; }

  std::size_t queued() const noexcept { return queue_.size(); }
  std::size_t workers() const noexcept { return busy_.size(); }
  int busy() const noexcept { return count(busy_); }
  int open() const noexcept { return count(open_); }

private:
  std::optional<std::uint32_t> idle_worker() const {
    std::optional<std::uint32_t> fallback;
    for (std::uint32_t i = 0; i < busy_.size(); ++i) {
      if (busy_[i])
        continue;
      if (open_[i])
        return i;
      if (!fallback)
        fallback = i;
    }
    return fallback;
  }
  static int count(const std::vector<bool>& xs) noexcept {
    int n = 0;
    for (bool x : xs)
      n += x ? 1 : 0;
    return n;
  }

  std::deque<entry> queue_;
  std::vector<bool> busy_;
  std::vector<bool> open_;
  std::size_t limit_;
  clock::duration max_wait_;
  std::uint64_t next_id_ = 1;
};

} // namespace chorus::actors
