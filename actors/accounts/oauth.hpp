#pragma once
// The OAuth actor: applications, token grants (password, client_credentials),
// revocation, and bearer-token authentication with a per-node cache. Password
// checks run on the blocking pool (argon2id), database work on the Postgres pool.
//
// Errors carry an OAuth error code as the start of their description
// ("invalid_grant: …"), which http/handlers/oauth.cpp turns into RFC 6749 bodies.
#include "actors/protocol/interfaces.hpp"
#include "actors/registry/registry.hpp"
#include "common/ids.hpp"

#include <caf/fwd.hpp>
#include <chrono>
#include <memory>

namespace chorus::actors {

class token_cache;

struct oauth_options {
  std::chrono::milliseconds cache_ttl{30'000};  // a revoked token stays valid on other nodes this long at most
  std::size_t cache_max = 100'000;
  std::chrono::milliseconds timeout{5'000};
  // A real argon2id hash (same parameters as passwords) verified for unknown
  // logins so timing does not tell which exist; made once, off the scheduler.
  std::string dummy_hash;
  // Shared with the HTTP layer (services::tokens); the actor makes its own if null.
  std::shared_ptr<token_cache> cache;
  // Told of every revocation, so that every node of the cluster forgets the token.
  cluster_actor cluster;
};

oauth_actor spawn_oauth(caf::actor_system& sys, oauth_options opts, pg_pool_actor pool, blocking_pool_actor cpu,
                        id_generator& ids, actor_registry& reg);

struct accounts_options {
  std::chrono::milliseconds timeout{5'000};
  std::chrono::milliseconds instance_ttl{60'000};  // instance counts are loaded at most this often
  // Told of every profile change, so that every node's hot-status cache reloads
  // the account (statuses embed it).
  cluster_actor cluster;
};

accounts_actor spawn_accounts(caf::actor_system& sys, accounts_options opts, pg_pool_actor pool,
                              blocking_pool_actor cpu, id_generator& ids, actor_registry& reg);

} // namespace chorus::actors
