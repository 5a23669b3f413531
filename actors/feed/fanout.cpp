// The feed manager's fan-out (a new status into its followers' live feeds,
// mirrors and, for large authors, the author's ring) and revocation (removed
// statuses out of every feed, ring and mirror that may hold them).
#include "actors/feed/feeds_manager.hpp"

#include "actors/protocol/errors.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "storage/redis/feeds.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <map>
#include <unordered_map>
#include <memory>

namespace chorus::actors::feeds_detail {

namespace rd = storage::redis;

namespace {

template <class Fn>
void chunked(const std::vector<std::int64_t>& accounts, std::size_t chunk, Fn fn) {
  for (std::size_t i = 0; i < accounts.size(); i += chunk)
    fn(std::vector<std::int64_t>(accounts.begin() + static_cast<std::ptrdiff_t>(i),
                                 accounts.begin() + static_cast<std::ptrdiff_t>(std::min(accounts.size(), i + chunk))));
}

pg::ring_entry ring_entry_of(const pg::fanout_post& p) {
  return {p.entry, account_id{p.in_reply_to_account}, p.visibility};
}

// Delivers one post to its recipients: live feeds by message, mirrors by script.
// Entries for live feeds, gathered over a batch: one message per feed, not per post.
using live_pushes = std::unordered_map<account_id, std::vector<pg::feed_entry>>;

void deliver(manager_ptr self, const pg::fanout_post& p, const pg::fanout_targets& t, std::vector<rd::command>& cmds,
             live_pushes& live, std::map<int, std::unordered_map<account_id, std::vector<pg::feed_entry>>>& remote) {
  auto& s = self->state;
  bool large = t.followers > s.opts->fanout_max_followers && p.visibility != 3;
  if (large) {
    ring_add(s, ring_entry_of(p));
    s.stats->add(c_ring_merges);
  }
  // recipients[0] is the author, served when the post was announced (pushing
  // again is harmless: the author's node may have been another one).
  const auto& to = t.recipients;
  for (auto r : to) {
    if (auto owner = remote_owner(self, account_id{r}); owner >= 0)
      remote[owner][account_id{r}].push_back(p.entry);  // its owner pushes it if the feed is live there
    else if (find_live(self, account_id{r}))
      live[account_id{r}].push_back(p.entry);
  }
  chunked(to, s.opts->push_chunk, [&](std::vector<std::int64_t> part) {
    cmds.push_back(rd::feed_push(part, {p.entry}, static_cast<int>(s.opts->cache_size)));
  });
  auto followers = static_cast<std::int64_t>(to.size()) - (!to.empty() && to.front() == p.entry.author ? 1 : 0);
  s.counts.pushes += static_cast<std::uint64_t>(followers);  // the author's own push is not counted
  s.stats->add(c_pushes, followers);
}

} // namespace

void ring_add(manager_state& s, const pg::ring_entry& e) {
  auto it = s.rings.find(e.entry.author);
  if (it == s.rings.end() || !it->second.loaded || e.visibility == 3)
    return;  // a ring not in memory loads from Postgres (which has this status) when needed
  auto& entries = it->second.entries;
  if (std::any_of(entries.begin(), entries.end(), [&](const pg::ring_entry& x) { return x.entry.id == e.entry.id; }))
    return;  // a fan-out job that runs again
  // Newest first; an entry from another node may arrive after a newer local one.
  auto pos = std::find_if(entries.begin(), entries.end(),
                          [&](const pg::ring_entry& x) { return x.entry.id < e.entry.id; });
  entries.insert(pos, e);
  while (entries.size() > s.opts->ring_size)
    entries.pop_back();
}

void ring_remove(manager_state& s, const std::vector<status_id>& ids) {
  for (auto& [author, rg] : s.rings)
    rg.entries.erase(std::remove_if(rg.entries.begin(), rg.entries.end(),
                                    [&](const pg::ring_entry& x) {
                                      return std::find(ids.begin(), ids.end(), x.entry.id) != ids.end();
                                    }),
                     rg.entries.end());
}

// Fan-out batches: every fan-out job that arrives while a batch runs goes into
// the next one (one pool job loading the statuses and computing all their
// recipients, one Redis pipeline). A job is answered once its mirror writes are
// made; a failure fails the whole batch's jobs, which the job queue retries.
void start_fanout(manager_ptr self) {
  auto& s = self->state;
  if (s.fanouts_in_flight >= 2 || s.fanout_queue.empty())
    return;
  auto batch = std::make_shared<std::vector<manager_state::fanout_work>>();
  std::vector<std::int64_t> ids;
  while (!s.fanout_queue.empty() && batch->size() < 128) {
    ids.push_back(s.fanout_queue.front().status);
    batch->push_back(std::move(s.fanout_queue.front()));
    s.fanout_queue.pop_front();
  }
  ++s.fanouts_in_flight;
  auto started = clock_type::now();
  auto posts = std::make_shared<std::vector<pg::fanout_post>>();
  auto targets = std::make_shared<std::vector<pg::fanout_targets>>();
  auto max_followers = s.opts->fanout_max_followers;
  auto days = s.opts->active_days;
  self->request(s.deps->pool, s.opts->timeout,
                db_call{"feeds.fanout",
                        [=](pqxx::connection_base& c) {
                          *posts = pg::posts_by_ids(c, ids);  // deleted meanwhile: nothing to deliver
                          for (auto& p : *posts)
                            targets->push_back(pg::fanout_recipients(c, p, max_followers, days));
                        },
                        static_cast<std::uint32_t>(batch->size())})
    .then(
      [self, batch, posts, targets, started](ok_atom) {
        auto& s = self->state;
        auto queried = clock_type::now();
        if (s.stage_recipients)
          s.stage_recipients->observe(std::chrono::duration<double>(queried - started).count());
        std::vector<rd::command> cmds;
        live_pushes live;
        std::map<int, std::unordered_map<account_id, std::vector<pg::feed_entry>>> remote;
        for (std::size_t i = 0; i < posts->size(); ++i)
          deliver(self, (*posts)[i], (*targets)[i], cmds, live, remote);
        for (auto& [account, entries] : live)
          if (auto* lf = find_live(self, account))
            self->send(lf->handle, feed_push{std::move(entries)});
        s.stats->add(c_fanouts, static_cast<std::int64_t>(posts->size()));
        // Streams: `update` to the recipients' user streams and the shared
        // streams (the job runs on one node per status).
        if (s.opts->streams)
          for (std::size_t i = 0; i < posts->size(); ++i) {
            auto& p = (*posts)[i];
            // A large author's followers are not among the recipients: every
            // node's streams actor finds those streaming (large_status_event).
            bool large = (*targets)[i].followers > s.opts->fanout_max_followers && p.visibility != 3;
            self->send(s.opts->streams, stream_status{p.entry.id, p.entry.author, p.visibility,
                                                      p.entry.origin_author.value() != 0,
                                                      account_id{p.in_reply_to_account}, (*targets)[i].recipients,
                                                      p.entry.origin_author, large});
          }
        // Answered when the mirrors are written and then every other owner has
        // the entries; an owner that does not answer (it died) fails the batch's
        // jobs, which run again once its users have moved. The owners are told
        // after the mirrors: a feed an owner activates meanwhile loads the entries
        // from the mirror, or is loading and applies the delivery after.
        auto finished = [self, batch, queried](caf::error err) {
          auto& s = self->state;
          if (s.stage_write)
            s.stage_write->observe(std::chrono::duration<double>(clock_type::now() - queried).count());
          for (auto& w : *batch) {
            if (err) {
              w.rp.deliver(err);
              continue;
            }
            if (s.fanout_lag && w.at_ms > 0)
              s.fanout_lag->observe(seconds_since_wall_ms(w.at_ms));
            w.rp.deliver(ok_atom::value);
          }
          if (err)
            log::write(log::level::warn, "feeds: another node did not take its fan-out; the jobs will be retried",
                       {{"statuses", batch->size()}, {"error", description_of(err)}});
        };
        std::map<int, feed_deliveries> parts;
        for (auto& [owner, per_account] : remote)
          for (auto& [account, entries] : per_account)
            parts[owner].items.push_back({account, std::move(entries)});
        // Large authors' statuses go to every member's rings (caches every node holds).
        std::vector<pg::ring_entry> ring;
        for (std::size_t i = 0; i < posts->size(); ++i)
          if ((*targets)[i].followers > s.opts->fanout_max_followers && (*posts)[i].visibility != 3)
            ring.push_back(ring_entry_of((*posts)[i]));
        if (!ring.empty())
          for (std::size_t m = 0; m < s.owner_names.size(); ++m)
            if (s.owner_names[m] != s.self_name)
              parts[static_cast<int>(m)].ring = ring;
        auto to_owners = std::make_shared<owner_parts<feed_deliveries>>(by_owner_handle(self, std::move(parts)));
        redis_send(self, std::move(cmds), "fanout",
                   [self, to_owners, finished] { ask_owners(self, std::move(*to_owners), {}, finished); });
        --s.fanouts_in_flight;
        start_fanout(self);
      },
      [self, batch](caf::error& err) {
        auto& s = self->state;
        s.stats->add(c_errors);
        --s.fanouts_in_flight;
        log::write(log::level::warn, "feeds: fan-out failed; its jobs will be retried",
                   {{"statuses", batch->size()}, {"error", description_of(err)}});
        for (auto& w : *batch)
          w.rp.deliver(err);
        start_fanout(self);
      });
}

void observe_revocation(manager_state& s, double lag_s) {
  ++s.counts.revocations;
  s.stats->add(c_revocations);
  if (s.revocation_lag)
    s.revocation_lag->observe(lag_s);
}

// On the node that committed a removal: the author's next read must not show
// it, so revoke there at once; every other timeline follows when the removal
// job (revoke_everywhere) has found them.
void on_removal(manager_ptr self, const feed_removal& r) {
  auto& s = self->state;
  invalidate(self, hot_invalidate{r.ids, {}});
  if (!from_other_node(self))
    if (auto owner = remote_owner(self, r.author); owner >= 0) {
      self->send(s.owner_feeds[static_cast<std::size_t>(owner)], r);
      return;
    }
  if (auto* lf = find_live(self, r.author))
    self->send(lf->handle, feed_revoke{r.ids, account_id{}, false});
}

// The feed.revoke job: the statuses and their reblogs leave every live feed,
// large-author ring and mirror that may hold them; answered when the mirrors are written.
void revoke_everywhere(manager_ptr self, std::vector<status_id> ids, std::int64_t at_ms,
                       caf::typed_response_promise<ok_atom> rp) {
  auto& s = self->state;
  auto targets = std::make_shared<pg::removal_targets>();
  self->request(s.deps->pool, s.opts->timeout,
                db_call{"feeds.removal", [=](pqxx::connection_base& c) { *targets = pg::removal_recipients(c, ids); }})
    .then(
      [self, targets, at_ms, rp](ok_atom) mutable {
        auto& s = self->state;
        std::vector<status_id> all_ids;
        for (auto& e : targets->entries)
          all_ids.push_back(e.id);
        ring_remove(s, all_ids);
        // Every other member drops the statuses from its rings; the owners of
        // the accounts that may hold them from those live feeds too.
        std::map<int, feed_revocation> to_owners;
        for (std::size_t m = 0; m < s.owner_names.size(); ++m)
          if (s.owner_names[m] != s.self_name)
            to_owners[static_cast<int>(m)] = feed_revocation{{}, feed_revoke{all_ids, account_id{}, false}, true};
        for (auto a : targets->accounts) {
          if (auto owner = remote_owner(self, account_id{a}); owner >= 0)
            to_owners[owner].accounts.emplace_back(a);
          else if (auto* lf = find_live(self, account_id{a}))
            self->send(lf->handle, feed_revoke{all_ids, account_id{}, false});
        }
        invalidate(self, hot_invalidate{all_ids, {}});
        if (s.opts->streams)  // `delete` on every stream that may have carried them
          self->send(s.opts->streams, stream_removal{all_ids, targets->accounts});
        std::vector<rd::command> cmds;
        chunked(targets->accounts, s.opts->push_chunk,
                [&](std::vector<std::int64_t> part) { cmds.push_back(rd::feed_remove(part, targets->entries)); });
        // Answered when the mirrors are written and then every other owner took
        // it (if one did not, the job runs again); owners after the mirrors, as for fan-out.
        auto done = [self, at_ms, rp](caf::error err) mutable {
          if (err) {
            rp.deliver(err);
            return;
          }
          observe_revocation(self->state, seconds_since_wall_ms(at_ms));
          rp.deliver(ok_atom::value);
        };
        auto owners = std::make_shared<owner_parts<feed_revocation>>(by_owner_handle(self, std::move(to_owners)));
        redis_send(self, std::move(cmds), "removal",
                   [self, owners, done] { ask_owners(self, {}, std::move(*owners), done); });
      },
      [self, rp](caf::error& err) mutable {
        self->state.stats->add(c_errors);
        log::write(log::level::warn, "feeds: revocation failed; its job will be retried", {{"error", description_of(err)}});
        rp.deliver(err);
      });
}

} // namespace chorus::actors::feeds_detail
