#pragma once
// The membership view of one node, as plain data and decisions (no actors): who
// joined, who answers pings, who is suspect and who is gone. The cluster actor
// feeds it events; each returns whether the set of members owning users (alive
// or suspect, and this node) changed, so placement is recomputed only then.
#include "actors/protocol/interfaces.hpp"

#include <caf/actor.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chorus::actors::cluster {

using clock_type = std::chrono::steady_clock;

enum class member_state { alive, suspect, gone };

const char* to_string(member_state s) noexcept;

struct member {
  member_info info;
  member_state state = member_state::alive;
  cluster_actor cluster;          // its cluster actor (a proxy)
  caf::strong_actor_ptr feeds;    // its feed manager
  caf::strong_actor_ptr streams;  // its streams actor
  clock_type::time_point last_heard{};
  clock_type::time_point gone_at{};
  double rtt_ms = 0;
  double rtt_avg_ms = 0;
  std::int64_t live_feeds = 0;
  std::string error;              // why gone
};

struct membership_options {
  std::chrono::milliseconds suspect_after{2'000};
  std::chrono::milliseconds timeout{5'000};
  std::chrono::milliseconds forget_after{600'000};  // a gone member leaves the view this long after
};

class membership {
public:
  explicit membership(membership_options o = {}) : opts_(o) {}

  // A member completed the join handshake (either side). Returns true if the
  // owners or the actors serving them changed (a new member, one back, or one
  // restarted as another incarnation). Sets `rejoined` when it comes back with
  // the same incarnation after being seen gone (a partition healed).
  bool joined(member m, clock_type::time_point now, bool& rejoined);
  // It answered a ping.
  bool heard(const std::string& name, clock_type::time_point now, double rtt_ms, std::int64_t live_feeds);
  // Its connection was lost (or it restarted as another incarnation): gone at once.
  bool lost(const std::string& name, clock_type::time_point now, std::string why);
  // Time passed: silent members become suspect, then gone; old gone ones are forgotten.
  bool tick(clock_type::time_point now);

  // The names owning users: this node and every alive or suspect member, sorted.
  std::vector<std::string> owners(const std::string& self) const;
  // Members to ping and to broadcast to (alive or suspect).
  std::vector<const member*> reachable() const;
  const member* find(const std::string& name) const;
  const member* find_by_actor(const caf::actor_addr& a) const;
  const std::map<std::string, member>& all() const noexcept { return members_; }
  // True when `name` is joined (alive or suspect) as `incarnation`.
  bool has(const std::string& name, const std::string& incarnation) const;
  // True when `name` is known as gone with this incarnation (it would rejoin).
  bool saw_gone(const std::string& name, const std::string& incarnation) const;

private:
  membership_options opts_;
  std::map<std::string, member> members_;
};

} // namespace chorus::actors::cluster
