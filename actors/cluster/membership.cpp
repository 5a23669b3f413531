#include "actors/cluster/membership.hpp"

#include <caf/actor_addr.hpp>

#include <algorithm>

namespace chorus::actors::cluster {

const char* to_string(member_state s) noexcept {
  switch (s) {
    case member_state::alive: return "alive";
    case member_state::suspect: return "suspect";
    case member_state::gone: return "gone";
  }
  return "gone";
}

namespace {
bool owns(member_state s) noexcept {
  return s != member_state::gone;
}
} // namespace

bool membership::joined(member m, clock_type::time_point now, bool& rejoined) {
  rejoined = false;
  auto it = members_.find(m.info.name);
  bool owned_before = it != members_.end() && owns(it->second.state);
  if (it != members_.end() && it->second.state == member_state::gone &&
      it->second.info.incarnation == m.info.incarnation)
    rejoined = true;
  bool same = owned_before && it->second.info.incarnation == m.info.incarnation &&
              it->second.cluster == m.cluster && it->second.feeds == m.feeds && it->second.streams == m.streams;
  m.state = member_state::alive;
  m.last_heard = now;
  m.error.clear();
  if (same) {  // both sides connected at once, or a repeated join: keep the measurements
    m.rtt_ms = it->second.rtt_ms;
    m.rtt_avg_ms = it->second.rtt_avg_ms;
    m.live_feeds = it->second.live_feeds;
  }
  members_[m.info.name] = std::move(m);
  return !same;  // new, back, restarted (another incarnation) or reached through other actors
}

bool membership::heard(const std::string& name, clock_type::time_point now, double rtt_ms, std::int64_t live_feeds) {
  auto it = members_.find(name);
  if (it == members_.end() || it->second.state == member_state::gone)
    return false;  // a late answer from one already gone: it must join again
  auto& m = it->second;
  m.last_heard = now;
  m.rtt_ms = rtt_ms;
  m.rtt_avg_ms = m.rtt_avg_ms == 0 ? rtt_ms : 0.8 * m.rtt_avg_ms + 0.2 * rtt_ms;
  m.live_feeds = live_feeds;
  m.state = member_state::alive;  // suspect → alive keeps ownership: no change
  return false;
}

bool membership::lost(const std::string& name, clock_type::time_point now, std::string why) {
  auto it = members_.find(name);
  if (it == members_.end() || it->second.state == member_state::gone)
    return false;
  it->second.state = member_state::gone;
  it->second.gone_at = now;
  it->second.error = std::move(why);
  return true;
}

bool membership::tick(clock_type::time_point now) {
  bool changed = false;
  for (auto it = members_.begin(); it != members_.end();) {
    auto& m = it->second;
    if (m.state == member_state::gone) {
      if (now - m.gone_at > opts_.forget_after) {
        it = members_.erase(it);
        continue;
      }
    } else if (now - m.last_heard > opts_.timeout) {
      m.state = member_state::gone;
      m.gone_at = now;
      m.error = "no answer to pings for " + std::to_string(opts_.timeout.count()) + " ms";
      changed = true;
    } else if (now - m.last_heard > opts_.suspect_after) {
      m.state = member_state::suspect;
    }
    ++it;
  }
  return changed;
}

std::vector<std::string> membership::owners(const std::string& self) const {
  std::vector<std::string> out{self};
  for (auto& [name, m] : members_)
    if (owns(m.state) && name != self)
      out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<const member*> membership::reachable() const {
  std::vector<const member*> out;
  for (auto& [name, m] : members_)
    if (owns(m.state))
      out.push_back(&m);
  return out;
}

const member* membership::find(const std::string& name) const {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : &it->second;
}

const member* membership::find_by_actor(const caf::actor_addr& a) const {
  for (auto& [name, m] : members_)
    if (m.cluster && m.cluster.address() == a)
      return &m;
  return nullptr;
}

bool membership::saw_gone(const std::string& name, const std::string& incarnation) const {
  auto m = find(name);
  return m && m->state == member_state::gone && m->info.incarnation == incarnation;
}

bool membership::has(const std::string& name, const std::string& incarnation) const {
  auto m = find(name);
  return m && owns(m->state) && m->info.incarnation == incarnation;
}

} // namespace chorus::actors::cluster
