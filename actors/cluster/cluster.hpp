#pragma once
// The cluster actor (one per node): joins the other Chorus nodes into one CAF
// actor system, keeps the membership view, and tells this node's feed manager
// which member owns which users. docs/cluster.md.
//
// Joining: the runtime publishes this actor on cluster.port (BASP over TCP, or
// over mutual TLS with caf_openssl). It then connects to the seeds and, every
// second, to every node whose heartbeat in `nodes` is fresh and which it has
// not joined yet, so N nodes form a full mesh without another service. The
// handshake (hello → challenge → join → welcome, actors/protocol/messages.hpp)
// checks the protocol version and that both sides know the shared secret
// (HMAC over two fresh nonces), and exchanges the actors a member serves with.
//
// Membership: every member is pinged each cluster.heartbeat_ms; one silent for
// cluster.suspect_after_ms is suspect (it keeps its users), for
// cluster.timeout_ms gone (its users move). A lost connection (a down message
// from its cluster actor's proxy) makes it gone at once.
#include "actors/cluster/membership.hpp"
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"

#include <atomic>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace chorus::metrics { class registry; }

namespace chorus::actors {

class token_cache;

struct cluster_options {
  bool enabled = true;
  member_info self;                 // cluster_address is filled by cluster_start
  std::string secret;               // proven in the join handshake ("" is a secret too: it only joins "")
  std::string transport = "tcp";    // "tls", "tcp" or "off" (for the view)
  std::vector<std::pair<std::string, std::uint16_t>> seeds;
  caf::actor connector;             // the middleman actor to connect with (caf_openssl's for TLS)
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds request_timeout{2'000};
  std::chrono::milliseconds discover_every{1'000};
  std::chrono::milliseconds node_fresh{10'000};   // `nodes` rows with an older heartbeat are not joined
  cluster::membership_options membership;
  std::shared_ptr<token_cache> tokens;            // forgets revoked tokens
  std::shared_ptr<std::atomic<std::int64_t>> live_feeds;  // this node's live feed actors (for pongs)
};

// "host:port" → (host, port); nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> parse_host_port(const std::string& text);

// The proof a member gives over both nonces of a handshake ("challenge" from
// the one joined, "join" from the joining one).
std::string join_proof(const std::string& secret, const std::string& role, const std::string& nonce_a,
                       const std::string& nonce_b, const std::string& name);

cluster_actor spawn_cluster(caf::actor_system& sys, cluster_options opts, pg_pool_actor pool, actor_registry& reg,
                            metrics::registry* metrics);

} // namespace chorus::actors
