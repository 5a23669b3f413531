// The limiter front: routes each check to the shard of its key and decides
// from live leases on the caller's thread.
#include "actors/ratelimit/limiter.hpp"

#include "actors/ratelimit/shard.hpp"
#include "common/clock.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <atomic>

namespace chorus::actors {

limiter::limiter(limiter_options opts, std::vector<limiter_shard_actor> shards, std::shared_ptr<lease_table> leases)
  : opts_(std::move(opts)), shards_(std::make_shared<const std::vector<limiter_shard_actor>>(std::move(shards))),
    leases_(std::move(leases)) {}

std::vector<limiter_shard_actor> limiter::shards() const {
  auto s = std::atomic_load(&shards_);
  return s ? *s : std::vector<limiter_shard_actor>{};
}

void limiter::stop() {
  auto s = std::atomic_exchange(&shards_, std::shared_ptr<const std::vector<limiter_shard_actor>>());
  if (s)
    for (auto& a : *s)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

std::optional<ratelimit::decision> limiter::take(std::uint32_t policy, const std::string& key) const {
  if (opts_.lease_tokens <= 0 || policy >= opts_.policies.size())
    return std::nullopt;
  const auto& p = opts_.policies[policy];
  auto renew = lease_renewal::none;
  thread_local std::string id;  // bucket_id(p, key) without an allocation per request
  id.assign(p.name).append(1, ':').append(key);
  auto d = leases_->take(id, p.limit, wall_now_us(), renew);
  if (renew != lease_renewal::none)
    check(rl_check{policy, key, 0, {}, false, true, renew == lease_renewal::tokens});
  return d;
}

void limiter::check(rl_check c) const {
  auto s = std::atomic_load(&shards_);
  if (!s || s->empty())
    return;  // stopped
  caf::anon_send((*s)[std::hash<std::string>{}(c.key) % s->size()], std::move(c));
}

std::shared_ptr<limiter> spawn_limiter(caf::actor_system& sys, limiter_options opts, actor_registry& reg,
                                       metrics::registry* metrics) {
  opts.shards = std::max<std::size_t>(1, opts.shards);
  auto shared = std::make_shared<const limiter_options>(opts);
  std::vector<limiter_shard_actor> shards;
  auto outage = std::make_shared<std::atomic<int>>(0);
  auto leases = std::make_shared<lease_table>();
  for (std::size_t i = 0; i < opts.shards; ++i)
    shards.push_back(spawn_limiter_shard(sys, shared, i, outage, leases, reg, metrics));
  return std::make_shared<limiter>(std::move(opts), std::move(shards), std::move(leases));
}

} // namespace chorus::actors
