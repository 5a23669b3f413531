// The streams actor: per-user sequenced outboxes on the users' owners, event
// routing across the cluster, and delivery to this node's hub. See streams.hpp
// and docs/architecture.md, "Streams".
#include "actors/streams/streams.hpp"

#include "actors/cluster/placement.hpp"
#include "actors/feed/timeline.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/streams/sink.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/pg/feeds.hpp"
#include "storage/redis/streams.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <algorithm>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

namespace chorus::actors {
namespace {

namespace rd = storage::redis;
using clock_type = std::chrono::steady_clock;

enum counter : std::size_t { c_live, c_sequenced, c_skipped, c_delivered, c_replays, c_refetches };

using replay_fn = std::function<void(outbox_replay)>;

// One user's outbox (on the user's owner). Events arriving while it loads its
// last sequence from Redis wait in `queued`, watches in `waiting`.
struct outbox {
  bool loaded = false;
  std::int64_t last = 0;
  std::vector<caf::strong_actor_ptr> watchers;  // streams actors of the nodes streaming this user
  clock_type::time_point idle_since{};
  std::vector<user_stream_event> queued;
  std::vector<std::pair<outbox_watch, replay_fn>> waiting;
};

// What the home feed knows about a streaming user this node owns (its follows
// with their follower counts, and hidden accounts): the statuses of the large
// authors it follows, which fan-out does not push, reach its user stream by
// the home feed's rules. Relations that arrive while the snapshot or a
// followed account's follower count loads wait in `pending`, in order.
//
// Most users follow no large author: their facts are dropped once loaded
// (`slim`), and only a new follow of a large author loads them again.
struct follow_facts {
  std::uint64_t gen = 0;
  bool loaded = false;
  bool busy = false;
  bool slim = false;
  feed::viewer_facts facts{account_id{}};
  std::vector<account_id> indexed;     // its large followees in streams_state::large_index
  std::vector<feed_relation> pending;  // a FIFO (rarely more than one)
  std::uint32_t failures = 0;          // loads that failed in a row (tried again at a tick, backing off)
  clock_type::time_point retry_at{};   // when failures > 0
};

struct streams_state {
  static inline const char* name = "chorus.streams";
  streams_options opts;
  pg_pool_actor pool;
  redis_actor redis;
  status_cache_actor cache;
  std::shared_ptr<stream_sink> sink;
  std::shared_ptr<actor_stats> stats;
  stream_stats counts;
  metrics::counter* m_sequenced = nullptr;
  metrics::counter* m_skipped = nullptr;
  metrics::counter* m_refetch = nullptr;
  metrics::gauge* m_live = nullptr;
  // Who owns which users (cluster_members): empty when this node is alone.
  std::string self_name;
  std::vector<std::string> owner_names;
  std::vector<streams_node_actor> owner_streams;
  std::unordered_map<account_id, outbox> outboxes;
  std::unordered_map<account_id, int> watching;  // this node's connections per streamed user
  std::vector<rd::command> appends;               // XADDs of this turn, sent as one request
  bool flush_pending = false;
  std::unordered_map<account_id, follow_facts> follows;  // per live outbox
  std::unordered_map<account_id, std::unordered_set<account_id>> large_index;  // large author → its followers here
  std::uint64_t follows_gen = 0;
  std::deque<status_id> recent;                   // statuses already streamed (fan-out jobs run again)
  std::unordered_set<status_id> recent_set;

  void publish() {
    counts.live_outboxes = static_cast<std::int64_t>(outboxes.size());
    stats->set(c_live, counts.live_outboxes);
    if (m_live)
      m_live->set(counts.live_outboxes);
  }
};

using self_ptr = streams_node_actor::stateful_pointer<streams_state>;

bool from_other_node(self_ptr self) {
  auto& src = self->current_sender();
  return src && src->node() != self->node();
}

bool from_stranger(self_ptr self) {
  if (!from_other_node(self))
    return false;
  auto node = self->current_sender()->node();
  for (auto& f : self->state.owner_streams)
    if (f && f.node() == node)
      return false;
  return true;
}

// Index in owner_streams of the member owning `user` when that is another node; -1: this node.
int remote_owner(self_ptr self, account_id user) {
  auto& s = self->state;
  if (s.owner_names.size() < 2)
    return -1;
  auto i = cluster::owner_index(s.owner_names, user);
  return s.owner_names[i] == s.self_name ? -1 : static_cast<int>(i);
}

std::vector<std::string> user_keys(const std::vector<std::string>& streams, account_id user) {
  std::vector<std::string> keys;
  keys.reserve(streams.size());
  for (auto& st : streams)
    keys.push_back(st + "@" + std::to_string(user.value()));
  return keys;
}

void to_hub(self_ptr self, const user_stream_delivery& d) {
  auto& s = self->state;
  if (!s.sink)
    return;
  stream_out out;
  out.keys = user_keys(d.streams, d.user);
  out.event = d.ev.event;
  out.payload = d.ev.payload;
  out.seq = d.seq;
  out.user = d.user;
  out.from = d.from;
  s.sink->deliver(out);
  ++s.counts.delivered;
  s.stats->add(c_delivered);
}

void to_hub(self_ptr self, const shared_stream_event& e) {
  auto& s = self->state;
  if (!s.sink)
    return;
  stream_out out;
  out.keys = e.keys;
  out.event = e.ev.event;
  out.payload = e.ev.payload;
  out.from = e.from;
  out.all_shared = e.all_shared;
  s.sink->deliver(out);
  ++s.counts.delivered;
  s.stats->add(c_delivered);
}

// XADDs of one turn go out as one Redis request after the turn (ordered with
// every other request this actor sends afterwards, e.g. a replay's XRANGE).
void flush_appends(self_ptr self) {
  auto& s = self->state;
  s.flush_pending = false;
  if (s.appends.empty())
    return;
  auto cmds = std::move(s.appends);
  s.appends.clear();
  auto n = cmds.size();
  self->request(s.redis, s.opts.timeout, redis_request{std::move(cmds)})
    .then([](redis_result&) {},
          [n](caf::error& err) {
            // The events were delivered live; a resume over them gets `refetch`
            // (plan_replay sees the hole).
            log::write(log::level::warn, "streams: outbox append failed",
                       {{"events", n}, {"error", description_of(err)}});
          });
}

void append(self_ptr self, rd::command cmd) {
  auto& s = self->state;
  s.appends.push_back(std::move(cmd));
  if (!s.flush_pending) {
    s.flush_pending = true;
    self->send(self, flush_atom::value);
  }
}

// Sequences one event in a live outbox and delivers it to every watching node.
void sequence(self_ptr self, account_id user, outbox& ob, user_stream_event& e) {
  auto& s = self->state;
  user_stream_delivery d{user, ++ob.last, std::move(e.streams), std::move(e.ev), e.from};
  append(self, rd::stream_append(user.value(), {d.seq, d.ev.event, d.ev.payload, d.streams, d.from.value()},
                                 s.opts.outbox_size));
  ++s.counts.sequenced;
  s.stats->add(c_sequenced);
  if (s.m_sequenced)
    s.m_sequenced->inc();
  for (auto& w : ob.watchers) {
    if (w->node() == self->node())
      to_hub(self, d);
    else
      self->send(caf::actor_cast<streams_node_actor>(w), d);
  }
}

// An event for a user this node owns: sequenced if the user's outbox is live.
void skip(streams_state& s) {
  ++s.counts.skipped;
  s.stats->add(c_skipped);
  if (s.m_skipped)
    s.m_skipped->inc();
}

void publish_owned(self_ptr self, user_stream_event e) {
  auto& s = self->state;
  auto it = s.outboxes.find(e.user);
  if (it == s.outboxes.end())
    return skip(s);
  auto& ob = it->second;
  if (!ob.loaded) {
    ob.queued.push_back(std::move(e));
    return;
  }
  sequence(self, e.user, ob, e);
}

void publish(self_ptr self, user_stream_event e) {
  auto& s = self->state;
  if (!from_other_node(self))
    if (auto owner = remote_owner(self, e.user); owner >= 0) {
      self->send(s.owner_streams[static_cast<std::size_t>(owner)], std::move(e));
      return;
    }
  publish_owned(self, std::move(e));
}

void publish_batch(self_ptr self, user_stream_batch& b) {
  auto& s = self->state;
  bool routed = from_other_node(self);
  std::map<int, user_stream_batch> remote;
  for (auto u : b.users) {
    if (!routed)
      if (auto owner = remote_owner(self, u); owner >= 0) {
        auto& part = remote[owner];
        if (part.users.empty()) {
          part.streams = b.streams;
          part.ev = b.ev;
          part.from = b.from;
        }
        part.users.push_back(u);
        continue;
      }
    if (s.outboxes.count(u))
      publish_owned(self, user_stream_event{u, b.streams, b.ev, b.from});
    else
      skip(s);
  }
  for (auto& [owner, part] : remote)
    self->send(s.owner_streams[static_cast<std::size_t>(owner)], std::move(part));
}

void answer_watch(self_ptr self, account_id user, outbox_watch w, replay_fn done);

// The large-author index follows a user's facts.
void reindex(streams_state& s, account_id user, follow_facts& ff) {
  for (auto a : ff.indexed)
    if (auto it = s.large_index.find(a); it != s.large_index.end()) {
      it->second.erase(user);
      if (it->second.empty())
        s.large_index.erase(it);
    }
  ff.indexed = ff.facts.large_followees(s.opts.fanout_max_followers);
  for (auto a : ff.indexed)
    s.large_index[a].insert(user);
}

void drop_follows(streams_state& s, account_id user) {
  auto it = s.follows.find(user);
  if (it == s.follows.end())
    return;
  it->second.facts = feed::viewer_facts{user};
  reindex(s, user, it->second);
  s.follows.erase(it);
}

void drain_relations(self_ptr self, account_id user);
void load_follows(self_ptr self, account_id user);

// One relation change for `user` (as feed_actor applies it to a home feed);
// false: it waits for a follow's follower count.
bool apply_relation(self_ptr self, account_id user, follow_facts& ff, const feed_relation& r) {
  auto& s = self->state;
  auto other = r.me == user ? r.target : r.me;
  if (ff.slim && !((r.verb == relation_verb::follow || r.verb == relation_verb::authorize) && r.me == user))
    return true;  // it follows no large author: only a new follow can matter
  switch (r.verb) {
    case relation_verb::follow:
    case relation_verb::authorize: {
      if (r.me != user)
        return true;
      auto count = std::make_shared<std::int64_t>(0);
      auto target = r.target;
      auto show_reblogs = r.show_reblogs;
      auto gen = ff.gen;
      ff.busy = true;
      self->request(s.pool, s.opts.timeout,
                    db_call{"streams.followers", [count, target](pqxx::connection_base& c) {
                              *count = storage::pg::followers_count(c, target.value());
                            }})
        .then(
          [self, user, gen, target, count, show_reblogs](ok_atom) {
            auto& s = self->state;
            auto it = s.follows.find(user);
            if (it == s.follows.end() || it->second.gen != gen)
              return;
            if (it->second.slim) {
              it->second.busy = false;
              if (*count > s.opts.fanout_max_followers)
                return load_follows(self, user);  // now it follows a large author: all of its facts count
              return drain_relations(self, user);
            }
            it->second.facts.follow(target, *count, show_reblogs);
            reindex(s, user, it->second);
            it->second.busy = false;
            drain_relations(self, user);
          },
          [self, user, gen](caf::error& err) {
            auto& s = self->state;
            log::write(log::level::warn, "streams: follower count not loaded", {{"error", description_of(err)}});
            auto it = s.follows.find(user);
            if (it == s.follows.end() || it->second.gen != gen)
              return;
            it->second.busy = false;
            drain_relations(self, user);
          });
      return false;
    }
    case relation_verb::unfollow:
      if (r.me == user)
        ff.facts.unfollow(r.target);
      break;
    case relation_verb::block:
      ff.facts.unfollow(other);
      ff.facts.hide(other);
      break;
    case relation_verb::mute:
      if (r.me == user)
        ff.facts.hide(r.target);
      break;
    case relation_verb::unblock:
    case relation_verb::unmute: ff.facts.unhide(other); break;
    case relation_verb::reject: break;
  }
  reindex(s, user, ff);
  return true;
}

void drain_relations(self_ptr self, account_id user) {
  auto& s = self->state;
  auto it = s.follows.find(user);
  if (it == s.follows.end())
    return;
  auto& ff = it->second;
  std::size_t done = 0;
  while (ff.loaded && !ff.busy && done < ff.pending.size()) {
    auto r = ff.pending[done++];
    apply_relation(self, user, ff, r);
  }
  // (apply_relation may have reloaded the facts, which empties `pending`)
  if (auto again = s.follows.find(user); again != s.follows.end()) {
    auto& p = again->second.pending;
    p.erase(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(std::min(done, p.size())));
    if (p.empty())
      std::vector<feed_relation>().swap(p);
  }
}

void relation_for(self_ptr self, account_id user, const feed_relation& r) {
  auto& s = self->state;
  auto it = s.follows.find(user);
  if (it == s.follows.end())
    return;
  it->second.pending.push_back(r);
  drain_relations(self, user);
}

// A new live outbox: one query for what the user's home feed knows (follows
// with follower counts, hidden accounts), indexed by its large followees.
void load_follows(self_ptr self, account_id user) {
  auto& s = self->state;
  auto& ff = s.follows[user];
  auto failures = ff.failures;
  ff = follow_facts{};
  ff.failures = failures;
  ff.retry_at = clock_type::time_point::max();  // not again while this load runs
  ff.gen = ++s.follows_gen;
  ff.facts = feed::viewer_facts{user};
  auto gen = ff.gen;
  auto snap = std::make_shared<storage::pg::feed_snapshot>();
  auto max_following = s.opts.max_following;
  self->request(s.pool, s.opts.timeout,
                db_call{"streams.follows", [snap, user, max_following](pqxx::connection_base& c) {
                          *snap = storage::pg::load_snapshot(c, user.value(), max_following);
                        }})
    .then(
      [self, user, gen, snap](ok_atom) {
        auto& s = self->state;
        auto it = s.follows.find(user);
        if (it == s.follows.end() || it->second.gen != gen)
          return;
        it->second.facts.assign(*snap);
        it->second.loaded = true;
        it->second.failures = 0;
        reindex(s, user, it->second);
        if (!it->second.facts.follows_above(s.opts.fanout_max_followers)) {
          it->second.slim = true;
          it->second.facts = feed::viewer_facts{user};
        }
        drain_relations(self, user);
      },
      [self, user, gen](caf::error& err) {
        // Tried again at a later tick (1 s, 2 s, … 30 s); until then the user's
        // stream misses its large followees' statuses.
        auto& s = self->state;
        auto it = s.follows.find(user);
        if (it == s.follows.end() || it->second.gen != gen)
          return;
        auto& ff = it->second;
        ++ff.failures;
        auto wait = std::chrono::seconds(1) * (1u << std::min<std::uint32_t>(ff.failures - 1, 5));
        ff.retry_at = clock_type::now() + std::min<clock_type::duration>(wait, std::chrono::seconds(30));
        if (ff.failures == 1 || ff.failures % 10 == 0)
          log::write(log::level::warn, "streams: follows not loaded, trying again",
                     {{"user", user.value()}, {"failures", ff.failures}, {"error", description_of(err)}});
      });
}

// Loads an outbox's last sequence from Redis, marks the gap before it (events
// for this user were dropped while no outbox was live), then runs what waited.
void activate(self_ptr self, account_id user) {
  auto& s = self->state;
  self->request(s.redis, s.opts.timeout, redis_request{{rd::stream_last(user.value())}})
    .then(
      [self, user](redis_result& r) {
        auto& s = self->state;
        auto it = s.outboxes.find(user);
        if (it == s.outboxes.end())
          return;
        auto& ob = it->second;
        std::int64_t last = 0;
        if (!r.replies.empty() && !r.replies[0].is_error()) {
          auto entries = rd::parse_stream_entries(r.replies[0]);
          if (!entries.empty())
            last = entries.front().seq;
        }
        ob.last = last + 1;
        append(self, rd::stream_append(user.value(), {ob.last, rd::gap_event, "", {}, 0}, s.opts.outbox_size));
        append(self, rd::stream_expire(user.value(), s.opts.key_ttl_s));
        ob.loaded = true;
        auto queued = std::move(ob.queued);
        auto waiting = std::move(ob.waiting);
        ob.queued.clear();
        ob.waiting.clear();
        for (auto& [w, done] : waiting)
          answer_watch(self, user, std::move(w), std::move(done));
        for (auto& e : queued)
          if (auto again = s.outboxes.find(user); again != s.outboxes.end())
            sequence(self, user, again->second, e);
      },
      [self, user](caf::error& err) {
        auto& s = self->state;
        auto it = s.outboxes.find(user);
        if (it == s.outboxes.end())
          return;
        log::write(log::level::warn, "streams: outbox activation failed", {{"user", user.value()},
                                                                          {"error", description_of(err)}});
        auto waiting = std::move(it->second.waiting);
        s.outboxes.erase(it);
        drop_follows(s, user);
        s.publish();
        for (auto& [w, done] : waiting)
          done(outbox_replay{0, w.since >= 0, {}});
      });
}

void add_watcher(outbox& ob, const caf::strong_actor_ptr& node) {
  if (std::find(ob.watchers.begin(), ob.watchers.end(), node) == ob.watchers.end())
    ob.watchers.push_back(node);
}

// On the owner, with the outbox loaded: registers the node, then answers with
// what the outbox holds after `since` (read after every earlier append).
void answer_watch(self_ptr self, account_id user, outbox_watch w, replay_fn done) {
  auto& s = self->state;
  auto it = s.outboxes.find(user);
  if (it == s.outboxes.end())
    return done(outbox_replay{0, w.since >= 0, {}});
  auto& ob = it->second;
  add_watcher(ob, w.node);
  auto last = ob.last;
  if (w.since < 0)
    return done(outbox_replay{last, false, {}});
  ++s.counts.replays;
  s.stats->add(c_replays);
  if (w.since >= last) {
    auto plan = rd::plan_replay(w.since, last, {});
    if (plan.refetch) {
      ++s.counts.refetches;
      s.stats->add(c_refetches);
    }
    return done(outbox_replay{last, plan.refetch, {}});
  }
  flush_appends(self);  // the XRANGE must see every event sequenced so far
  auto since = w.since;
  self->request(s.redis, s.opts.timeout,
                redis_request{{rd::stream_after(user.value(), since, s.opts.outbox_size * 2 + 16)}})
    .then(
      [self, user, since, last, done](redis_result& r) {
        auto& s = self->state;
        std::vector<rd::stream_entry> after;
        if (!r.replies.empty() && !r.replies[0].is_error())
          after = rd::parse_stream_entries(r.replies[0]);
        auto plan = rd::plan_replay(since, last, std::move(after));
        outbox_replay out{last, plan.refetch, {}};
        for (auto& e : plan.events)
          out.events.push_back({user, e.seq, std::move(e.streams), {std::move(e.event), std::move(e.payload)},
                                account_id{e.from}});
        if (plan.refetch) {
          ++s.counts.refetches;
          s.stats->add(c_refetches);
          if (s.m_refetch)
            s.m_refetch->inc();
        }
        done(std::move(out));
      },
      [last, done](caf::error&) { done(outbox_replay{last, true, {}}); });
}

// A watch on the owner (this node): on → live outbox with this watcher; off → drop it.
void watch_owned(self_ptr self, outbox_watch w, replay_fn done) {
  auto& s = self->state;
  auto user = w.user;
  if (!w.on) {
    if (auto it = s.outboxes.find(user); it != s.outboxes.end()) {
      auto& ws = it->second.watchers;
      ws.erase(std::remove(ws.begin(), ws.end(), w.node), ws.end());
      if (ws.empty())
        it->second.idle_since = clock_type::now();
    }
    return done(outbox_replay{});
  }
  auto [it, fresh] = s.outboxes.try_emplace(user);
  auto& ob = it->second;
  if (fresh) {
    s.publish();
    activate(self, user);
    if (s.pool)
      load_follows(self, user);
  }
  if (!ob.loaded) {
    add_watcher(ob, w.node);  // events sequenced right after loading reach it
    ob.waiting.emplace_back(std::move(w), std::move(done));
    return;
  }
  answer_watch(self, user, std::move(w), std::move(done));
}

// This node's connections start or stop streaming a user: the owner is told
// on the first and after the last (and whenever a resume needs a replay).
void local_watch(self_ptr self, stream_watch& sw) {
  auto& s = self->state;
  auto me = caf::actor_cast<caf::strong_actor_ptr>(self);
  auto reply = std::make_shared<std::function<void(const outbox_replay*, const caf::error*)>>(std::move(sw.reply));
  auto answer = [reply](outbox_replay r) {
    if (*reply)
      (*reply)(&r, nullptr);
  };
  if (sw.on) {
    auto n = ++s.watching[sw.user];
    if (n > 1 && sw.since < 0)
      return answer(outbox_replay{});
  } else {
    auto it = s.watching.find(sw.user);
    if (it == s.watching.end())
      return answer(outbox_replay{});
    if (--it->second > 0)
      return answer(outbox_replay{});
    s.watching.erase(it);
  }
  outbox_watch w{sw.user, me, sw.on, sw.since};
  auto owner = remote_owner(self, sw.user);
  if (owner < 0)
    return watch_owned(self, std::move(w), answer);
  self->request(s.owner_streams[static_cast<std::size_t>(owner)], s.opts.remote_timeout, std::move(w))
    .then([answer](outbox_replay& r) { answer(std::move(r)); },
          [reply, since = sw.since](caf::error& err) {
            // The owner did not answer (it died): live events resume once the
            // membership moves the user; a resume cannot be proven complete.
            log::write(log::level::warn, "streams: the owner did not take a watch", {{"error", description_of(err)}});
            outbox_replay r{0, since >= 0, {}};
            if (*reply)
              (*reply)(&r, nullptr);
          });
}

void on_members(self_ptr self, cluster_members& m) {
  auto& s = self->state;
  s.self_name = m.self;
  s.owner_names.clear();
  s.owner_streams.clear();
  for (auto& r : m.members) {
    s.owner_names.push_back(r.name);
    s.owner_streams.push_back(caf::actor_cast<streams_node_actor>(r.streams ? r.streams : caf::strong_actor_ptr{}));
  }
  // Outboxes of users another member owns now end (their watchers watch the
  // new owner, below); watchers on nodes that left go.
  std::vector<caf::node_id> nodes{self->node()};
  for (auto& h : s.owner_streams)
    if (h)
      nodes.push_back(h.node());
  for (auto it = s.outboxes.begin(); it != s.outboxes.end();) {
    if (remote_owner(self, it->first) >= 0) {
      drop_follows(s, it->first);
      it = s.outboxes.erase(it);
      continue;
    }
    auto& ws = it->second.watchers;
    auto before = ws.size();
    ws.erase(std::remove_if(ws.begin(), ws.end(),
                            [&](const caf::strong_actor_ptr& w) {
                              return std::find(nodes.begin(), nodes.end(), w->node()) == nodes.end();
                            }),
             ws.end());
    if (ws.empty() && before > 0)
      it->second.idle_since = clock_type::now();
    ++it;
  }
  // Tell the owners (perhaps new) about every user this node streams.
  auto me = caf::actor_cast<caf::strong_actor_ptr>(self);
  for (auto& [user, n] : s.watching) {
    outbox_watch w{user, me, true, -1};
    if (auto owner = remote_owner(self, user); owner >= 0)
      self->request(s.owner_streams[static_cast<std::size_t>(owner)], s.opts.remote_timeout, std::move(w))
        .then([](outbox_replay&) {}, [](caf::error&) {});
    else
      watch_owned(self, std::move(w), [](outbox_replay) {});
  }
  s.publish();
}

void broadcast(self_ptr self, const shared_stream_event& e) {
  auto& s = self->state;
  for (std::size_t i = 0; i < s.owner_streams.size(); ++i)
    if (s.owner_names[i] != s.self_name && s.owner_streams[i])
      self->send(s.owner_streams[i], e);
}

bool seen_recently(streams_state& s, status_id id) {
  if (s.recent_set.count(id))
    return true;
  s.recent.push_back(id);
  s.recent_set.insert(id);
  while (s.recent.size() > 4096) {
    s.recent_set.erase(s.recent.front());
    s.recent.pop_front();
  }
  return false;
}

std::string fill(const rendered_status& r) {
  std::string out;
  for (std::size_t i = 0; i < r.text.size(); ++i) {
    out += r.text[i];
    if (i < r.slots.size())
      out += "false";
  }
  return out;
}

std::string lower(std::string t) {
  for (auto& c : t)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

// A large author's status: `update` on the user streams of the streaming users
// this node owns who follow the author, by the home feed's rules (ring merge).
void on_large(self_ptr self, const large_status_event& e) {
  auto& s = self->state;
  auto it = s.large_index.find(e.author);
  if (it == s.large_index.end())
    return;
  model::ring_entry re{{e.id, e.author, e.origin_author}, e.in_reply_to_account, e.visibility};
  std::vector<account_id> users;
  for (auto u : it->second)
    if (auto f = s.follows.find(u); f != s.follows.end() && u != e.author && f->second.facts.admits(re))
      users.push_back(u);
  for (auto u : users)
    publish_owned(self, user_stream_event{u, {"user"}, e.ev, e.author});
}

// A fanned-out status: rendered once (the hot-status cache's template, no
// viewer), `update` on its recipients' user streams and, when Mastodon would
// broadcast it (public, not a reblog), on the shared streams of every node.
void on_status(self_ptr self, stream_status& st) {
  auto& s = self->state;
  if (seen_recently(s, st.id))
    return;
  auto msg = std::make_shared<stream_status>(std::move(st));
  self->request(s.cache, s.opts.timeout, hot_get{{msg->id}})
    .then(
      [self, msg](hot_reply& r) {
        auto& s = self->state;
        auto it = r.rendered.find(msg->id);
        if (it == r.rendered.end() || !it->second || r.bundle.statuses.empty())
          return;  // deleted meanwhile, or no renderer (no HTTP layer)
        stream_event ev{"update", fill(*it->second)};
        auto& status = r.bundle.statuses.front();
        if (msg->visibility == 0 && !msg->reblog) {
          shared_stream_event shared;
          shared.ev = ev;
          shared.from = msg->author;
          if (!msg->in_reply_to_account || msg->in_reply_to_account == msg->author) {
            shared.keys.push_back("public");
            shared.keys.push_back("public:local");  // every status is local until federation
          }
          for (auto& t : status.tags) {
            shared.keys.push_back("hashtag:" + lower(t));
            shared.keys.push_back("hashtag:local:" + lower(t));
          }
          if (!shared.keys.empty()) {
            to_hub(self, shared);
            broadcast(self, shared);
          }
        }
        if (msg->large) {
          large_status_event large{msg->id,           msg->author, msg->origin_author, msg->in_reply_to_account,
                                   msg->visibility, ev};
          for (std::size_t i = 0; i < s.owner_streams.size(); ++i)
            if (s.owner_names[i] != s.self_name && s.owner_streams[i])
              self->send(s.owner_streams[i], large);
          on_large(self, large);
        }
        if (!msg->recipients.empty()) {
          user_stream_batch b;
          for (auto a : msg->recipients)
            b.users.emplace_back(a);
          b.streams = {"user"};
          b.ev = std::move(ev);
          b.from = msg->author;
          publish_batch(self, b);
        }
      },
      [msg](caf::error& err) {
        log::write(log::level::warn, "streams: status not rendered", {{"status", msg->id.value()},
                                                                     {"error", description_of(err)}});
      });
}

void on_removal(self_ptr self, stream_removal& r) {
  for (auto id : r.ids) {
    stream_event ev{"delete", std::to_string(id.value())};
    shared_stream_event shared{{}, ev, account_id{}, true};
    to_hub(self, shared);
    broadcast(self, shared);
    if (!r.accounts.empty()) {
      user_stream_batch b;
      for (auto a : r.accounts)
        b.users.emplace_back(a);
      b.streams = {"user"};
      b.ev = ev;
      publish_batch(self, b);
    }
  }
}

void on_tick(self_ptr self) {
  auto& s = self->state;
  auto now = clock_type::now();
  for (auto it = s.outboxes.begin(); it != s.outboxes.end();) {
    auto& ob = it->second;
    if (ob.loaded && ob.watchers.empty() && now - ob.idle_since >= s.opts.resume_window) {
      drop_follows(s, it->first);
      it = s.outboxes.erase(it);
    } else
      ++it;
  }
  std::vector<account_id> reload;
  for (auto& [user, ff] : s.follows)
    if (!ff.loaded && ff.failures > 0 && now >= ff.retry_at)
      reload.push_back(user);
  for (auto u : reload)
    load_follows(self, u);
  s.publish();
  self->delayed_send(self, s.opts.tick, tick_atom::value);
}

streams_node_actor::behavior_type streams_fn(self_ptr self, streams_options opts, pg_pool_actor pool, redis_actor redis,
                                        status_cache_actor cache, actor_registry* reg, metrics::registry* metrics) {
  auto& s = self->state;
  s.opts = opts;
  s.pool = std::move(pool);
  s.redis = std::move(redis);
  s.cache = std::move(cache);
  s.stats = reg->enlist(self, "streams", "main",
                        {"live_outboxes", "sequenced", "skipped", "delivered", "replays", "refetches"});
  if (metrics) {
    s.m_sequenced = &metrics->get_counter("chorus_stream_events_total", "User stream events by outcome",
                                          {{"result", "sequenced"}});
    s.m_skipped = &metrics->get_counter("chorus_stream_events_total", "User stream events by outcome",
                                        {{"result", "no_outbox"}});
    s.m_refetch = &metrics->get_counter("chorus_stream_refetch_total", "Resumes answered with refetch");
    s.m_live = &metrics->get_gauge("chorus_stream_outboxes", "Live user outboxes on this node");
  }
  s.publish();
  self->delayed_send(self, s.opts.tick, tick_atom::value);
  return {
    [=](user_stream_event& e) {
      observe(self, *self->state.stats);
      if (!from_stranger(self))
        publish(self, std::move(e));
    },
    [=](user_stream_batch& b) {
      observe(self, *self->state.stats);
      if (!from_stranger(self))
        publish_batch(self, b);
    },
    [=](user_stream_delivery& d) {
      if (!from_stranger(self))
        to_hub(self, d);
    },
    [=](outbox_watch& w) -> caf::result<outbox_replay> {
      observe(self, *self->state.stats);
      if (from_stranger(self))
        return make_error(errc::forbidden, "not a member of this cluster");
      if (!w.node)
        return make_error(errc::unprocessable, "a watch names its node");
      auto rp = self->make_response_promise<outbox_replay>();
      watch_owned(self, std::move(w), [rp](outbox_replay r) mutable { rp.deliver(std::move(r)); });
      return rp;
    },
    [=](shared_stream_event& e) {
      if (from_stranger(self))
        return;
      to_hub(self, e);
      if (!from_other_node(self))
        broadcast(self, e);
    },
    [=](large_status_event& e) {
      observe(self, *self->state.stats);
      if (from_stranger(self) || !from_other_node(self) || seen_recently(self->state, e.id))
        return;
      on_large(self, e);
    },
    [=](feed_relation& r) {
      auto& s = self->state;
      if (from_stranger(self))
        return;
      if (s.sink)
        s.sink->relation(r.me, r.target, r.verb);
      relation_for(self, r.me, r);
      if (r.target != r.me)
        relation_for(self, r.target, r);
      if (!from_other_node(self))
        for (std::size_t i = 0; i < s.owner_streams.size(); ++i)
          if (s.owner_names[i] != s.self_name && s.owner_streams[i])
            self->send(s.owner_streams[i], feed_relation{r.me, r.target, r.verb, r.show_reblogs, r.at_ns, 0, {}});
    },
    [=](cluster_members& m) { on_members(self, m); },
    [=](stream_sink_install& i) { self->state.sink = std::move(i.sink); },
    [=](stream_watch& w) {
      observe(self, *self->state.stats);
      local_watch(self, w);
    },
    [=](stream_status& st) {
      observe(self, *self->state.stats);
      on_status(self, st);
    },
    [=](stream_removal& r) {
      observe(self, *self->state.stats);
      on_removal(self, r);
    },
    [=](viewer_hidden& v) {
      auto& s = self->state;
      auto out = std::make_shared<std::vector<std::int64_t>>();
      auto viewer = v.viewer;
      auto reply = std::make_shared<std::function<void(const std::vector<std::int64_t>*)>>(std::move(v.reply));
      self->request(s.pool, s.opts.timeout,
                    db_call{"streams.hidden", [out, viewer](pqxx::connection_base& c) {
                              *out = storage::pg::hidden_accounts(c, viewer.value());
                            }})
        .then([out, reply](ok_atom) { (*reply)(out.get()); }, [reply](caf::error&) { (*reply)(nullptr); });
    },
    [=](flush_atom) {
      if (!from_other_node(self))
        flush_appends(self);
    },
    [=](stats_atom) -> stream_stats {
      self->state.publish();
      return self->state.counts;
    },
    [=](tick_atom) {
      if (!from_other_node(self))
        on_tick(self);
    },
  };
}

} // namespace

streams_node_actor spawn_streams(caf::actor_system& sys, streams_options opts, pg_pool_actor pool, redis_actor redis,
                            status_cache_actor cache, actor_registry& reg, metrics::registry* metrics) {
  return sys.spawn(streams_fn, std::move(opts), std::move(pool), std::move(redis), std::move(cache), &reg, metrics);
}

} // namespace chorus::actors
