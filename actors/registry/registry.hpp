#pragma once
// Actor registry: every Chorus actor enlists itself here with its kind, a name and
// a small set of named counters it updates with relaxed atomics. Readers (the admin
// API, chorusctl, /metrics) take cheap snapshots without messaging the actors.
#include "common/metrics.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace caf { class local_actor; }

namespace chorus::actors {

class actor_stats {
public:
  explicit actor_stats(std::vector<std::string> counter_names);

  // Called by the owning actor once per message it handles.
  void on_message(std::size_t mailbox_size) noexcept {
    processed_.fetch_add(1, std::memory_order_relaxed);
    mailbox_.store(mailbox_size, std::memory_order_relaxed);
    auto hw = mailbox_hwm_.load(std::memory_order_relaxed);
    while (mailbox_size > hw && !mailbox_hwm_.compare_exchange_weak(hw, mailbox_size)) {}
  }
  void set(std::size_t i, std::int64_t v) noexcept { values_[i].store(v, std::memory_order_relaxed); }
  void add(std::size_t i, std::int64_t v = 1) noexcept { values_[i].fetch_add(v, std::memory_order_relaxed); }
  std::int64_t get(std::size_t i) const noexcept { return values_[i].load(std::memory_order_relaxed); }

  const std::vector<std::string>& names() const noexcept { return names_; }
  std::uint64_t processed() const noexcept { return processed_.load(std::memory_order_relaxed); }
  std::size_t mailbox() const noexcept { return mailbox_.load(std::memory_order_relaxed); }
  std::size_t mailbox_high_water() const noexcept { return mailbox_hwm_.load(std::memory_order_relaxed); }

private:
  std::vector<std::string> names_;
  std::unique_ptr<std::atomic<std::int64_t>[]> values_;
  std::atomic<std::uint64_t> processed_{0};
  std::atomic<std::size_t> mailbox_{0};
  std::atomic<std::size_t> mailbox_hwm_{0};
};

struct actor_snapshot {
  std::uint64_t id;          // CAF actor id
  std::string kind;          // e.g. "pg_pool", "pg_worker", "redis"
  std::string name;          // instance name within the kind
  double uptime_s;
  std::uint64_t processed;
  std::size_t mailbox;
  std::size_t mailbox_high_water;
  std::map<std::string, std::int64_t> counters;
};

class actor_registry {
public:
  explicit actor_registry(std::string node);

  // Registers `self` and removes it again when the actor terminates.
  std::shared_ptr<actor_stats> enlist(caf::local_actor* self, std::string kind, std::string name,
                                      std::vector<std::string> counter_names = {});

  std::vector<actor_snapshot> snapshot() const;
  std::size_t size() const;
  const std::string& node() const noexcept { return node_; }

  // Adds chorus_actors{kind}, chorus_actor_mailbox{kind}, … to a metrics registry.
  void export_metrics(metrics::registry& reg);

private:
  struct entry {
    std::string kind;
    std::string name;
    std::chrono::steady_clock::time_point started;
    std::shared_ptr<actor_stats> stats;
  };
  void remove(std::uint64_t id);

  std::string node_;
  mutable std::mutex mtx_;
  std::map<std::uint64_t, entry> entries_;
};

// Records one handled message of `self` (cheap; call at the top of each handler).
template <class Self>
void observe(Self* self, actor_stats& stats) {
  stats.on_message(self->mailbox().size());
}

} // namespace chorus::actors

namespace chorus::actors {

// Exposes the named counters of `stats` on /metrics with an `instance` label:
// names listed in `monotonic` as counters `<prefix>_<name>_total`, the rest as
// gauges `<prefix>_<name>`.
void export_stats(metrics::registry& reg, const std::string& prefix, const std::string& help,
                  const std::string& instance, std::shared_ptr<actor_stats> stats,
                  std::vector<std::string> monotonic);

} // namespace chorus::actors
