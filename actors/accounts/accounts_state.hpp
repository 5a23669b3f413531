#pragma once
// Internal to actors/accounts: the accounts actor's state (accounts.cpp), one
// method per message with registration split into named steps, and the
// decisions it takes: plain functions, no actor and no database, so tests call
// them directly.
#include "actors/accounts/oauth.hpp"
#include "storage/pg/accounts.hpp"

#include <caf/error.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <chrono>
#include <optional>

namespace chorus::actors {

// ---- Decisions ------------------------------------------------------------------

namespace accounts_rules {

// Registrations are open unless the `registrations` setting says "closed".
bool registrations_open(const std::optional<std::string>& setting);

// forbidden unless registrations are open.
caf::error check_open(bool open);

// The account row for a registration (locale "en" when none is given).
storage::pg::new_account account_of(const registration& r, std::int64_t id, std::string password_hash);

// The registering app's first token for the new account.
token_issued first_token(const registration& r, account_id account, std::string access_token,
                         std::int64_t created_at);

// The instance counts, kept for a while so the instance endpoints do not count
// on every request.
class stats_cache {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit stats_cache(std::chrono::milliseconds ttl = std::chrono::seconds(60)) : ttl_(ttl) {}

  std::optional<instance_stats> fresh(time_point now) const;
  void put(instance_stats s, time_point now);

private:
  std::chrono::milliseconds ttl_;
  instance_stats value_;
  time_point until_{};
};

} // namespace accounts_rules

// ---- State -----------------------------------------------------------------------

class accounts_state;
using accounts_ptr = accounts_actor::stateful_pointer<accounts_state>;

class accounts_state {
public:
  static inline const char* name = "chorus.accounts";

  explicit accounts_state(accounts_ptr self) : self_(self) {}

  void init(accounts_options opts, pg_pool_actor pool, blocking_pool_actor cpu, id_generator* ids,
            actor_registry* reg);

  // One per message of accounts_actor.
  caf::result<token_issued> register_account(registration& r);
  caf::result<storage::pg::account_row> find(const account_query& q);
  caf::result<storage::pg::account_row> update(const credentials_update& u);
  caf::result<instance_stats> instance();

private:
  template <class T>
  using promise = caf::typed_response_promise<T>;

  // registration: registrations open? → hash_password → store
  void hash_password(std::shared_ptr<registration> req, promise<token_issued> rp);
  void store(std::shared_ptr<registration> req, std::string password_hash, promise<token_issued> rp);

  accounts_ptr self_;
  accounts_options opts_;
  pg_pool_actor pool_;
  blocking_pool_actor cpu_;
  id_generator* ids_ = nullptr;
  std::shared_ptr<actor_stats> stats_;
  accounts_rules::stats_cache instance_;  // by the actor's clock
};

} // namespace chorus::actors
