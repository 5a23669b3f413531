// The feed manager's part of the cluster: which member owns a user (rendezvous
// hashing over the members the cluster actor reports), what happens to live
// feeds when ownership moves, and the messages other nodes send to the users
// this node owns. docs/cluster.md, "Placement".
#include "actors/cluster/placement.hpp"
#include "actors/feed/feeds_manager.hpp"

#include "common/log.hpp"

#include <caf/actor_cast.hpp>
#include <algorithm>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

namespace chorus::actors::feeds_detail {

bool from_other_node(manager_ptr self) {
  auto& src = self->current_sender();
  return src && src->node() != self->node();
}

bool from_stranger(manager_ptr self) {
  if (!from_other_node(self))
    return false;
  auto node = self->current_sender()->node();
  for (auto& f : self->state.owner_feeds)
    if (f && f.node() == node)
      return false;
  return true;
}

int remote_owner(manager_ptr self, account_id account) {
  auto& s = self->state;
  if (s.owner_names.size() < 2)
    return -1;
  auto i = cluster::owner_index(s.owner_names, account);
  return s.owner_names[i] == s.self_name ? -1 : static_cast<int>(i);
}

void on_members(manager_ptr self, cluster_members& m) {
  auto& s = self->state;
  s.self_name = m.self;
  s.owner_names.clear();
  s.owner_feeds.clear();
  for (auto& r : m.members) {
    s.owner_names.push_back(r.name);
    s.owner_feeds.push_back(caf::actor_cast<feeds_actor>(r.feeds));
  }
  // Live feeds of users another member owns now are passivated: their owner
  // activates them from the mirror. After a partition healed (`rejoined`),
  // events sent across it may be lost: every live feed is rebuilt.
  std::vector<account_id> moved;
  for (auto& [account, lf] : s.live)
    if (m.rejoined || remote_owner(self, account) >= 0)
      moved.push_back(account);
  for (auto a : moved)
    passivate(self, a);
  s.remote_cache.clear();  // owners may have changed
  // Reads waiting for a member that left: serve them here now.
  std::vector<std::shared_ptr<manager_state::remote_read>> orphaned;
  for (auto it = s.reads_in_flight.begin(); it != s.reads_in_flight.end();) {
    if (std::find(s.owner_names.begin(), s.owner_names.end(), it->first) != s.owner_names.end()) {
      ++it;
      continue;
    }
    orphaned.insert(orphaned.end(), it->second.begin(), it->second.end());
    it = s.reads_in_flight.erase(it);
  }
  for (auto& r : orphaned)
    if (!r->done) {
      r->done = true;
      r->fallback();
    }
  if (!moved.empty())
    log::write(log::level::info, "feeds: ownership moved",
               {{"passivated", moved.size()}, {"members", s.owner_names.size()}, {"rejoined", m.rejoined}});
  s.publish();
}

namespace {
bool same_page(const pg::page& a, const pg::page& b) {
  return a.max_id == b.max_id && a.since_id == b.since_id && a.min_id == b.min_id && a.limit == b.limit;
}
} // namespace

const status_view* remote_page_for(manager_ptr self, account_id viewer, const pg::page& key) {
  auto& s = self->state;
  auto it = s.remote_cache.find(viewer);
  if (it == s.remote_cache.end())
    return nullptr;
  auto now = clock_type::now();
  for (auto& p : it->second.pages)
    if (same_page(p.key, key) && p.until > now)
      return &p.view;
  return nullptr;
}

std::uint64_t remote_generation(manager_ptr self, account_id viewer) {
  auto& s = self->state;
  if (s.deps->opts.page_cache.count() <= 0 || !s.deps->opts.remote_pages)
    return 0;
  if (s.remote_cache.size() >= s.deps->opts.max_live && !s.remote_cache.count(viewer))
    s.remote_cache.clear();  // bounded like the live feeds
  auto& e = s.remote_cache[viewer];
  if (e.gen == 0)
    e.gen = ++s.remote_gen;
  return e.gen;
}

void keep_remote_page(manager_ptr self, account_id viewer, std::uint64_t gen, const pg::page& key,
                      const status_view& view) {
  auto& s = self->state;
  auto it = s.remote_cache.find(viewer);
  if (gen == 0 || it == s.remote_cache.end() || it->second.gen != gen || !view.body)
    return;  // changed (or ownership moved) while the owner rendered it
  auto& pages = it->second.pages;
  auto until = clock_type::now() + s.deps->opts.page_cache;
  for (auto& p : pages)
    if (same_page(p.key, key)) {
      p.view = view;
      p.until = until;
      return;
    }
  if (pages.size() >= 2)
    pages.erase(pages.begin());
  pages.push_back({key, view, until});
}

void track_read(manager_ptr self, const std::string& owner, const std::shared_ptr<manager_state::remote_read>& r) {
  self->state.reads_in_flight[owner].push_back(r);
}

bool finish_read(manager_ptr self, const std::string& owner, const std::shared_ptr<manager_state::remote_read>& r) {
  if (r->done)
    return false;
  r->done = true;
  auto& all = self->state.reads_in_flight;
  if (auto it = all.find(owner); it != all.end()) {
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), r), v.end());
    if (v.empty())
      all.erase(it);
  }
  return true;
}

ok_atom on_deliveries(manager_ptr self, feed_deliveries& d) {
  for (auto& e : d.ring)
    ring_add(self->state, e);
  for (auto& item : d.items)
    if (auto* lf = find_live(self, item.account))
      self->send(lf->handle, feed_push{std::move(item.entries)});
  return ok_atom::value;
}

ok_atom on_revocation(manager_ptr self, feed_revocation& r) {
  if (r.rings)
    ring_remove(self->state, r.revoke.ids);
  for (auto a : r.accounts)
    if (auto* lf = find_live(self, a))
      self->send(lf->handle, r.revoke);
  return ok_atom::value;
}

void invalidate(manager_ptr self, hot_invalidate h) {
  auto& s = self->state;
  if (s.deps->opts.cluster && !from_other_node(self))
    self->send(s.deps->opts.cluster, std::move(h));  // the cluster actor tells this node's cache and every member's
  else
    self->send(s.deps->cache, std::move(h));
}

template <class Msg>
owner_parts<Msg> by_owner_handle(manager_ptr self, std::map<int, Msg> parts) {
  owner_parts<Msg> out;
  for (auto& [owner, msg] : parts)
    out.emplace_back(self->state.owner_feeds[static_cast<std::size_t>(owner)], std::move(msg));
  return out;
}

template owner_parts<feed_deliveries> by_owner_handle(manager_ptr, std::map<int, feed_deliveries>);
template owner_parts<feed_revocation> by_owner_handle(manager_ptr, std::map<int, feed_revocation>);

void ask_owners(manager_ptr self, owner_parts<feed_deliveries> deliveries, owner_parts<feed_revocation> revocations,
                std::function<void(caf::error)> done) {
  auto& s = self->state;
  struct join_state {
    std::size_t pending = 1;
    caf::error first;
    std::function<void(caf::error)> done;
  };
  auto js = std::make_shared<join_state>();
  js->done = std::move(done);
  auto step = [js](caf::error err) {
    if (err && !js->first)
      js->first = std::move(err);
    if (--js->pending == 0)
      js->done(std::move(js->first));
  };
  auto ask = [&](const feeds_actor& owner, auto msg) {
    ++js->pending;
    self->request(owner, s.deps->opts.remote_timeout, std::move(msg))
      .then([step](ok_atom) { step({}); }, [step](caf::error& e) { step(std::move(e)); });
  };
  for (auto& [owner, d] : deliveries)
    ask(owner, std::move(d));
  for (auto& [owner, r] : revocations)
    ask(owner, std::move(r));
  step({});
}

} // namespace chorus::actors::feeds_detail
