#include "actors/registry/registry.hpp"

#include <algorithm>
#include <caf/local_actor.hpp>

namespace chorus::actors {

actor_stats::actor_stats(std::vector<std::string> counter_names)
  : names_(std::move(counter_names)), values_(new std::atomic<std::int64_t>[names_.size() + 1]) {
  for (std::size_t i = 0; i <= names_.size(); ++i)
    values_[i].store(0);
}

actor_registry::actor_registry(std::string node) : node_(std::move(node)) {}

std::shared_ptr<actor_stats> actor_registry::enlist(caf::local_actor* self, std::string kind,
                                                    std::string name,
                                                    std::vector<std::string> counter_names) {
  auto stats = std::make_shared<actor_stats>(std::move(counter_names));
  auto id = self->id();
  {
    std::lock_guard<std::mutex> guard(mtx_);
    entries_[id] = entry{std::move(kind), std::move(name), std::chrono::steady_clock::now(), stats};
  }
  // The registry outlives every actor (the composition root destroys it after
  // await_all_actors_done), so capturing `this` is safe.
  self->attach_functor([this, id] { remove(id); });
  return stats;
}

void actor_registry::remove(std::uint64_t id) {
  std::lock_guard<std::mutex> guard(mtx_);
  entries_.erase(id);
}

std::size_t actor_registry::size() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return entries_.size();
}

std::vector<actor_snapshot> actor_registry::snapshot() const {
  auto now = std::chrono::steady_clock::now();
  std::vector<actor_snapshot> out;
  std::lock_guard<std::mutex> guard(mtx_);
  out.reserve(entries_.size());
  for (auto& [id, e] : entries_) {
    actor_snapshot s{id, e.kind, e.name,
                     std::chrono::duration<double>(now - e.started).count(),
                     e.stats->processed(), e.stats->mailbox(), e.stats->mailbox_high_water(), {}};
    for (std::size_t i = 0; i < e.stats->names().size(); ++i)
      s.counters[e.stats->names()[i]] = e.stats->get(i);
    out.push_back(std::move(s));
  }
  return out;
}

void actor_registry::export_metrics(metrics::registry& reg) {
  reg.add_collector([this](std::string& out) {
    struct agg {
      std::uint64_t count = 0, processed = 0, mailbox = 0, mailbox_max = 0;
    };
    std::map<std::string, agg> by_kind;
    for (auto& s : snapshot()) {
      auto& a = by_kind[s.kind];
      ++a.count;
      a.processed += s.processed;
      a.mailbox += s.mailbox;
      a.mailbox_max = std::max<std::uint64_t>(a.mailbox_max, s.mailbox_high_water);
    }
    metrics::write_header(out, "chorus_actors", "gauge", "Live actors by kind");
    for (auto& [k, a] : by_kind)
      metrics::write_sample(out, "chorus_actors", {{"kind", k}}, static_cast<double>(a.count));
    metrics::write_header(out, "chorus_actor_mailbox", "gauge",
                          "Messages waiting in mailboxes by kind (last observed)");
    for (auto& [k, a] : by_kind)
      metrics::write_sample(out, "chorus_actor_mailbox", {{"kind", k}}, static_cast<double>(a.mailbox));
    metrics::write_header(out, "chorus_actor_mailbox_high_water", "gauge",
                          "Largest mailbox seen by any actor of the kind");
    for (auto& [k, a] : by_kind)
      metrics::write_sample(out, "chorus_actor_mailbox_high_water", {{"kind", k}},
                            static_cast<double>(a.mailbox_max));
    metrics::write_header(out, "chorus_actor_messages", "gauge",
                          "Messages handled so far by the live actors of the kind");
    for (auto& [k, a] : by_kind)
      metrics::write_sample(out, "chorus_actor_messages", {{"kind", k}},
                            static_cast<double>(a.processed));
  });
}

} // namespace chorus::actors

namespace chorus::actors {

void export_stats(metrics::registry& reg, const std::string& prefix, const std::string& help,
                  const std::string& instance, std::shared_ptr<actor_stats> stats,
                  std::vector<std::string> monotonic) {
  reg.add_collector([prefix, help, instance, stats, monotonic](std::string& out) {
    for (std::size_t i = 0; i < stats->names().size(); ++i) {
      auto& n = stats->names()[i];
      bool counter = std::find(monotonic.begin(), monotonic.end(), n) != monotonic.end();
      auto name = prefix + "_" + n + (counter ? "_total" : "");
      metrics::write_header(out, name, counter ? "counter" : "gauge", help + ": " + n);
      metrics::write_sample(out, name, {{"instance", instance}}, static_cast<double>(stats->get(i)));
    }
  });
}

} // namespace chorus::actors
