#include "actors/cluster/cluster.hpp"

#include "actors/accounts/token_cache.hpp"
#include "actors/cluster/placement.hpp"
#include "actors/protocol/errors.hpp"
#include "actors/protocol/wire.hpp"
#include "common/crypto.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "storage/pg/nodes.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/sec.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <map>
#include <set>

namespace chorus::actors {

std::optional<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size())
    return std::nullopt;
  auto host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  for (std::size_t i = colon + 1; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9')
      return std::nullopt;
    port = port * 10 + static_cast<unsigned long>(text[i] - '0');
    if (port > 65535)
      return std::nullopt;
  }
  if (port == 0)
    return std::nullopt;
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

std::string join_proof(const std::string& secret, const std::string& role, const std::string& nonce_a,
                       const std::string& nonce_b, const std::string& name) {
  return crypto::hmac_sha256_hex(secret, "chorus-cluster-v1|" + role + "|" + nonce_a + "|" + nonce_b + "|" + name);
}

namespace {

using cluster::clock_type;
using cluster::member;
using cluster::member_state;

enum counter : std::size_t { c_members, c_joins, c_refused, c_lost, c_pings, c_broadcasts };

struct pending_join {
  member_info from;
  std::string nonce_a;
  std::string nonce_b;
  clock_type::time_point expires;
};

struct cluster_state {
  cluster_options opts;
  pg_pool_actor pool;
  cluster::membership view;
  std::shared_ptr<actor_stats> stats;
  caf::strong_actor_ptr feeds;  // this node's feed manager
  caf::strong_actor_ptr cache;  // this node's hot-status cache
  caf::strong_actor_ptr streams;  // this node's streams actor
  bool started = false;
  std::vector<pending_join> pending;                // joins awaiting their proof (bounded, oldest dropped)
  std::set<std::string> connecting;                 // addresses with a handshake in flight
  std::map<std::string, std::string> last_problem;  // by address or name: logged once per change
  std::uint64_t epoch = 0;
  clock_type::time_point next_discovery{};
  // Nodes with a smaller name than this one, first seen in `nodes` and not joined
  // yet (by name/incarnation): they dial us; we dial them only if they do not.
  std::map<std::string, clock_type::time_point> waiting_for;
  // Addresses whose last dial failed: not dialled again before `next` (the
  // middleman connects one address at a time, so a black-holed one must not be
  // retried every round). Doubling from 1 s up to 60 s; cleared on success.
  struct backoff {
    int failures = 0;
    clock_type::time_point next{};
  };
  std::map<std::string, backoff> dial_backoff;
  metrics::gauge* members_gauge = nullptr;
  metrics::counter* joins = nullptr;
  metrics::counter* refused = nullptr;
  metrics::counter* lost = nullptr;
};

using cluster_ptr = cluster_actor::stateful_pointer<cluster_state>;

bool from_other_node(cluster_ptr self) {
  auto& src = self->current_sender();
  return src && src->node() != self->node();
}

// Only joined members may ping, broadcast or read the view: a connection that
// has not completed the handshake can only say hello and join.
bool from_stranger(cluster_ptr self) {
  if (!from_other_node(self))
    return false;
  auto node = self->current_sender()->node();
  for (auto* m : self->state.view.reachable())
    if (m->cluster.node() == node)
      return false;
  return true;
}

// Logs a problem with a peer once until it changes (discovery retries every second).
void problem(cluster_ptr self, const std::string& key, const std::string& what, log::level lvl = log::level::warn) {
  auto& last = self->state.last_problem[key];
  if (last == what)
    return;
  last = what;
  log::write(lvl, "cluster: " + what, {{"peer", key}, {"node", self->state.opts.self.name}});
}

void publish_owners(cluster_ptr self, bool rejoined) {
  auto& s = self->state;
  cluster_members out;
  out.self = s.opts.self.name;
  out.epoch = ++s.epoch;
  out.rejoined = rejoined;
  for (auto& name : s.view.owners(s.opts.self.name)) {
    if (name == s.opts.self.name) {
      out.members.push_back({name, s.feeds, s.streams});
    } else if (auto* m = s.view.find(name)) {
      out.members.push_back({name, m->feeds, m->streams});
    }
  }
  std::int64_t n = static_cast<std::int64_t>(out.members.size());
  s.stats->set(c_members, n);
  if (s.members_gauge)
    s.members_gauge->set(n);
  if (s.streams)
    self->send(caf::actor_cast<streams_node_actor>(s.streams), out);
  if (s.feeds)
    self->send(caf::actor_cast<feeds_actor>(s.feeds), std::move(out));
}

void add_member(cluster_ptr self, const member_info& info, caf::actor handle, caf::strong_actor_ptr feeds,
                caf::strong_actor_ptr streams, bool peer_saw_us_gone) {
  auto& s = self->state;
  if (!handle || !feeds) {
    problem(self, info.name, "node " + info.name + " joined without its actors: ignored");
    return;
  }
  member m;
  m.info = info;
  m.cluster = caf::actor_cast<cluster_actor>(handle);
  m.feeds = std::move(feeds);
  m.streams = std::move(streams);
  bool rejoined = false;
  bool was = s.view.has(info.name, info.incarnation);
  bool changed = s.view.joined(std::move(m), clock_type::now(), rejoined);
  rejoined = rejoined || peer_saw_us_gone;
  self->monitor(caf::actor_cast<cluster_actor>(handle));
  s.last_problem.erase(info.name);
  s.last_problem.erase(info.cluster_address);
  if (!was) {
    s.stats->add(c_joins);
    if (s.joins)
      s.joins->inc();
    log::write(log::level::info, rejoined ? "cluster: node rejoined" : "cluster: node joined",
               {{"peer", info.name}, {"address", info.cluster_address}, {"version", info.version},
                {"node", s.opts.self.name}});
  }
  if (changed || rejoined)
    publish_owners(self, rejoined);
}

void refuse(cluster_ptr self, const std::string& key, const std::string& why) {
  auto& s = self->state;
  s.stats->add(c_refused);
  if (s.refused)
    s.refused->inc();
  problem(self, key, why);
}

void dial_failed(cluster_ptr self, const std::string& address) {
  auto& s = self->state;
  if (s.dial_backoff.size() > 1'000)
    s.dial_backoff.clear();
  auto& b = s.dial_backoff[address];
  b.failures = std::min(b.failures + 1, 7);
  b.next = clock_type::now() + std::min(std::chrono::milliseconds(60'000),
                                         std::chrono::milliseconds(500 << b.failures));
}

// Joining side: hello → challenge (check it) → join → welcome.
void handshake(cluster_ptr self, std::string address, caf::actor peer) {
  auto& s = self->state;
  auto nonce_a = crypto::random_token(16);
  auto done = [self, address] { self->state.connecting.erase(address); };
  auto failed = [self, address, done](caf::error& err) {
    problem(self, address, "joining " + address + " failed: " + description_of(err));
    dial_failed(self, address);
    done();
  };
  self->request(peer, s.opts.request_timeout, cluster_hello{s.opts.self, nonce_a})
    .then(
      [self, address, peer, nonce_a, done, failed](cluster_challenge& ch) {
        auto& s = self->state;
        if (ch.from.name == s.opts.self.name) {  // a seed or row that is this node
          done();
          return;
        }
        if (ch.from.protocol != protocol_version) {
          refuse(self, address, "node " + ch.from.name + " at " + address + " speaks protocol " +
                                  std::to_string(ch.from.protocol) + ", this node " +
                                  std::to_string(protocol_version) + ": not joined");
          done();
          return;
        }
        auto expected = join_proof(s.opts.secret, "challenge", nonce_a, ch.nonce, ch.from.name);
        if (!crypto::equal(expected, ch.proof)) {
          refuse(self, address, "node " + ch.from.name + " at " + address +
                                  " does not know the cluster secret: not joined");
          done();
          return;
        }
        if (s.view.has(ch.from.name, ch.from.incarnation)) {  // it joined us meanwhile
          done();
          return;
        }
        cluster_join j{s.opts.self, join_proof(s.opts.secret, "join", nonce_a, ch.nonce, s.opts.self.name),
                       {caf::actor_cast<caf::strong_actor_ptr>(self), s.feeds, s.streams},
                       s.view.saw_gone(ch.from.name, ch.from.incarnation)};
        auto info = ch.from;
        self->request(peer, s.opts.request_timeout, std::move(j))
          .then(
            [self, address, peer, info, done](cluster_welcome& w) {
              if (w.from.name != info.name || w.from.incarnation != info.incarnation) {
                refuse(self, address, "node at " + address + " welcomed as " + w.from.name +
                                        " after proving to be " + info.name + ": not joined");
                done();
                return;
              }
              add_member(self, w.from, peer, std::move(w.actors.feeds), std::move(w.actors.streams), w.saw_you_gone);
              self->state.dial_backoff.erase(address);
              done();
            },
            failed);
      },
      failed);
}

void connect(cluster_ptr self, const std::string& host, std::uint16_t port) {
  auto& s = self->state;
  auto address = host + ":" + std::to_string(port);
  if (!s.opts.connector || s.connecting.count(address))
    return;
  if (auto it = s.dial_backoff.find(address); it != s.dial_backoff.end() && clock_type::now() < it->second.next)
    return;
  s.connecting.insert(address);
  self->request(s.opts.connector, s.opts.request_timeout * 2, caf::connect_atom::value, host, port)
    .then(
      [self, address](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>&) {
        if (!ptr) {
          problem(self, address, "nothing is published at " + address);
          self->state.connecting.erase(address);
          dial_failed(self, address);
          return;
        }
        handshake(self, address, caf::actor_cast<caf::actor>(ptr));
      },
      [self, address](caf::error& err) {
        auto& s = self->state;
        if (s.opts.transport == "tls" && err == caf::sec::disconnect_during_handshake)
          refuse(self, address, "TLS handshake with " + address + " failed (its certificate is not signed by "
                                "cluster.tls_ca, or it does not speak TLS): not joined");
        else
          problem(self, address, "cannot connect to " + address + ": " + description_of(err), log::level::info);
        s.connecting.erase(address);
        dial_failed(self, address);
      });
}

void discover(cluster_ptr self) {
  auto& s = self->state;
  auto rows = std::make_shared<std::vector<storage::pg::node_row>>();
  auto name = s.opts.self.name;
  auto fresh = static_cast<int>(s.opts.node_fresh.count());
  self->request(s.pool, s.opts.request_timeout,
                db_call{"cluster.discover", [rows, name, fresh](pqxx::connection_base& c) {
                          *rows = storage::pg::live_cluster_nodes(c, name, fresh);
                        }})
    .then(
      [self, rows](ok_atom) {
        auto& s = self->state;
        // Seeds the nodes table does not list (its rows are dialled by the rule
        // below, which keeps two nodes from dialling each other at once).
        for (auto& [host, port] : s.opts.seeds) {
          auto address = host + ":" + std::to_string(port);
          bool listed = std::any_of(rows->begin(), rows->end(),
                                    [&](const storage::pg::node_row& r) { return r.cluster_address == address; });
          bool joined = false;
          for (auto* m : s.view.reachable())
            joined = joined || m->info.cluster_address == address;
          if (!listed && !joined && address != s.opts.self.cluster_address)
            connect(self, host, port);
        }
        for (auto& r : *rows) {
          if (static_cast<std::uint32_t>(r.protocol) != protocol_version) {
            refuse(self, r.name, "node " + r.name + " speaks protocol " + std::to_string(r.protocol) +
                                   ", this node " + std::to_string(protocol_version) + ": not joined");
            continue;
          }
          auto key = r.name + "/" + r.incarnation;
          if (s.view.has(r.name, r.incarnation)) {
            s.waiting_for.erase(key);
            continue;
          }
          // Two nodes that find each other at once would dial each other at once,
          // and two connections between one pair of nodes make CAF drop both
          // (seen with TLS). So the node with the larger name waits to be dialled,
          // for three discovery rounds, and dials itself only if that did not
          // happen (e.g. the other node cannot reach this one's address).
          if (r.name < s.opts.self.name) {
            auto now = clock_type::now();
            auto [it, fresh] = s.waiting_for.emplace(key, now);
            if (fresh || now - it->second < 3 * s.opts.discover_every)
              continue;
          }
          if (auto hp = parse_host_port(r.cluster_address))
            connect(self, hp->first, hp->second);
        }
      },
      [self](caf::error& err) { problem(self, "postgres", "cannot read the nodes table: " + description_of(err)); });
}

void on_tick(cluster_ptr self) {
  auto& s = self->state;
  auto now = clock_type::now();
  for (auto* m : s.view.reachable()) {
    auto name = m->info.name;
    auto incarnation = m->info.incarnation;
    auto sent = clock_type::now();
    s.stats->add(c_pings);
    self->request(m->cluster, s.opts.request_timeout, cluster_ping{s.opts.self.name, s.opts.self.incarnation})
      .then(
        [self, name, incarnation, sent](cluster_pong& p) {
          auto& s = self->state;
          auto now = clock_type::now();
          if (p.incarnation != incarnation) {  // restarted behind the same proxy: join again
            if (s.view.lost(name, now, "restarted"))
              publish_owners(self, false);
            return;
          }
          s.view.heard(name, now, std::chrono::duration<double, std::milli>(now - sent).count(), p.live_feeds);
        },
        [](caf::error&) {});  // silence is judged by the membership tick
  }
  std::map<std::string, member_state> before;
  for (auto& [name, m] : s.view.all())
    before[name] = m.state;
  bool changed = s.view.tick(now);
  for (auto& [name, m] : s.view.all())
    if (auto it = before.find(name); it != before.end() && it->second != m.state)
      log::write(m.state == member_state::alive ? log::level::info : log::level::warn,
                 std::string("cluster: node ") + cluster::to_string(m.state),
                 {{"peer", name}, {"node", s.opts.self.name}, {"why", m.error}});
  if (changed) {
    s.stats->add(c_lost);
    if (s.lost)
      s.lost->inc();
    publish_owners(self, false);
  }
  s.pending.erase(std::remove_if(s.pending.begin(), s.pending.end(),
                                 [&](const pending_join& p) { return p.expires < now; }),
                  s.pending.end());
  if (s.last_problem.size() > 1'000)  // names and addresses are chosen by whoever connects
    s.last_problem.clear();
  for (auto it = s.waiting_for.begin(); it != s.waiting_for.end();)
    it = now - it->second > s.opts.node_fresh + 10 * s.opts.discover_every ? s.waiting_for.erase(it) : std::next(it);
  if (s.opts.enabled && now >= s.next_discovery) {
    s.next_discovery = now + s.opts.discover_every;
    discover(self);
  }
  self->delayed_send(self, s.opts.heartbeat, tick_atom::value);
}

caf::result<cluster_challenge> on_hello(cluster_ptr self, cluster_hello& h) {
  auto& s = self->state;
  auto& from = h.from;
  if (!s.opts.enabled)
    return make_error(errc::forbidden, "node " + s.opts.self.name + " does not cluster");
  if (!s.started)  // published a moment before cluster_start: its actors are not known yet
    return make_error(errc::unavailable, "node " + s.opts.self.name + " is starting");
  if (from.protocol != protocol_version) {
    refuse(self, from.name, "refused node " + from.name + " at " + from.cluster_address + ": it speaks protocol " +
                              std::to_string(from.protocol) + ", this node " + std::to_string(protocol_version));
    return make_error(errc::conflict, "protocol version mismatch: node " + s.opts.self.name + " speaks " +
                                        std::to_string(protocol_version) + ", you speak " +
                                        std::to_string(from.protocol));
  }
  if (from.name == s.opts.self.name && from.incarnation != s.opts.self.incarnation) {
    refuse(self, from.name, "refused a node at " + from.cluster_address + ": it uses this node's name");
    return make_error(errc::conflict, "node name " + from.name + " is taken in this cluster");
  }
  pending_join p{from, h.nonce, crypto::random_token(16), clock_type::now() + 2 * s.opts.request_timeout};
  cluster_challenge ch{s.opts.self, p.nonce_b, join_proof(s.opts.secret, "challenge", h.nonce, p.nonce_b, s.opts.self.name)};
  // Kept per hello, not per name: a hello claiming another node's name cannot
  // displace that node's own join.
  if (s.pending.size() >= 64)
    s.pending.erase(s.pending.begin());
  s.pending.push_back(std::move(p));
  return ch;
}

caf::result<cluster_welcome> on_join(cluster_ptr self, cluster_join& j) {
  auto& s = self->state;
  if (!s.started)
    return make_error(errc::unavailable, "node " + s.opts.self.name + " is starting");
  auto it = std::find_if(s.pending.begin(), s.pending.end(), [&](const pending_join& p) {
    return p.from.name == j.from.name && p.from.incarnation == j.from.incarnation &&
           crypto::equal(join_proof(s.opts.secret, "join", p.nonce_a, p.nonce_b, j.from.name), j.proof);
  });
  bool known = std::any_of(s.pending.begin(), s.pending.end(), [&](const pending_join& p) {
    return p.from.name == j.from.name && p.from.incarnation == j.from.incarnation;
  });
  if (!known)
    return make_error(errc::conflict, "join without a hello (or it expired): start again");
  if (it == s.pending.end()) {
    refuse(self, j.from.name, "refused node " + j.from.name + " at " + j.from.cluster_address +
                                ": wrong cluster secret");
    return make_error(errc::forbidden, "refused by " + s.opts.self.name + ": wrong cluster secret");
  }
  s.pending.erase(it);
  bool saw_gone = s.view.saw_gone(j.from.name, j.from.incarnation);
  add_member(self, j.from, caf::actor_cast<caf::actor>(j.actors.cluster), j.actors.feeds, j.actors.streams,
             j.saw_you_gone);
  return cluster_welcome{s.opts.self, {caf::actor_cast<caf::strong_actor_ptr>(self), s.feeds, s.streams}, saw_gone};
}

cluster_status status_of(cluster_ptr self) {
  auto& s = self->state;
  cluster_status out;
  out.self = s.opts.self.name;
  out.transport = s.opts.enabled ? s.opts.transport : "off";
  out.authenticated = !s.opts.secret.empty();
  out.protocol = protocol_version;
  auto owners = s.view.owners(s.opts.self.name);
  std::map<std::string, std::int64_t> owned;
  for (std::int64_t id = 1; id <= 10'000; ++id)
    ++owned[owners[cluster::owner_index(owners, account_id{id})]];
  auto now = clock_type::now();
  member_view me;
  me.info = s.opts.self;
  me.state = "self";
  me.connected = true;
  me.live_feeds = s.opts.live_feeds ? s.opts.live_feeds->load() : 0;
  me.owned_users_sample = owned[s.opts.self.name];
  out.members.push_back(std::move(me));
  for (auto& [name, m] : s.view.all()) {
    member_view v;
    v.info = m.info;
    v.state = cluster::to_string(m.state);
    v.connected = m.state != member_state::gone;
    v.last_heard_s = std::chrono::duration<double>(now - m.last_heard).count();
    v.rtt_ms = m.rtt_ms;
    v.rtt_avg_ms = m.rtt_avg_ms;
    v.live_feeds = m.live_feeds;
    v.owned_users_sample = owned.count(name) ? owned[name] : 0;
    v.error = m.error;
    out.members.push_back(std::move(v));
  }
  return out;
}

template <class Event>
void broadcast(cluster_ptr self, const Event& ev) {
  auto& s = self->state;
  s.stats->add(c_broadcasts);
  for (auto* m : s.view.reachable())
    self->send(m->cluster, ev);
}

cluster_actor::behavior_type cluster_fn(cluster_ptr self, cluster_options opts, pg_pool_actor pool,
                                        actor_registry* reg, metrics::registry* metrics) {
  auto& s = self->state;
  s.view = cluster::membership(opts.membership);
  s.opts = std::move(opts);
  s.pool = std::move(pool);
  s.stats = reg->enlist(self, "cluster", s.opts.self.name, {"members", "joins", "refused", "lost", "pings", "broadcasts"});
  if (metrics) {
    s.members_gauge = &metrics->get_gauge("chorus_cluster_members", "Members owning users, this node included");
    s.joins = &metrics->get_counter("chorus_cluster_joins_total", "Nodes joined (either side of the handshake)");
    s.refused = &metrics->get_counter("chorus_cluster_refused_total",
                                      "Joins refused (wrong secret, other protocol, name taken)");
    s.lost = &metrics->get_counter("chorus_cluster_lost_total", "Membership changes that moved users away from a node");
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (auto* m = s.view.find_by_actor(dm.source)) {
      auto name = m->info.name;
      if (s.view.lost(name, clock_type::now(), "connection lost")) {
        log::write(log::level::warn, "cluster: node gone", {{"peer", name}, {"node", s.opts.self.name},
                                                          {"why", "connection lost"}});
        s.stats->add(c_lost);
        if (s.lost)
          s.lost->inc();
        publish_owners(self, false);
      }
    }
  });
  return {
    [self](cluster_start& st) {
      auto& s = self->state;
      if (s.started)
        return;
      s.started = true;
      s.feeds = std::move(st.feeds);
      s.cache = std::move(st.cache);
      s.streams = std::move(st.streams);
      s.opts.self.cluster_address = st.address;
      s.opts.self.http_address = st.http_address;
      s.opts.self.version = st.version;
      publish_owners(self, false);
      self->send(self, tick_atom::value);
    },
    [self](cluster_hello& h) { return on_hello(self, h); },
    [self](cluster_join& j) { return on_join(self, j); },
    [self](cluster_ping&) -> caf::result<cluster_pong> {
      auto& s = self->state;
      if (from_stranger(self))
        return make_error(errc::forbidden, "join first");
      return cluster_pong{s.opts.self.incarnation, s.opts.live_feeds ? s.opts.live_feeds->load() : 0};
    },
    [self](token_revoked& t) {
      auto& s = self->state;
      if (from_stranger(self))
        return;
      if (s.opts.tokens)
        s.opts.tokens->forget(t.digest);
      if (!from_other_node(self))
        broadcast(self, t);
    },
    [self](hot_invalidate& h) {
      auto& s = self->state;
      if (from_stranger(self))
        return;
      if (s.cache)
        self->send(caf::actor_cast<status_cache_actor>(s.cache), h);
      if (!from_other_node(self))
        broadcast(self, h);
    },
    [self](cluster_atom) -> caf::result<cluster_status> {
      if (from_stranger(self))
        return make_error(errc::forbidden, "join first");
      return status_of(self);
    },
    [self](tick_atom) {
      if (!from_other_node(self))
        on_tick(self);
    },
  };
}

} // namespace

cluster_actor spawn_cluster(caf::actor_system& sys, cluster_options opts, pg_pool_actor pool, actor_registry& reg,
                            metrics::registry* metrics) {
  return sys.spawn(cluster_fn, std::move(opts), std::move(pool), &reg, metrics);
}

} // namespace chorus::actors
