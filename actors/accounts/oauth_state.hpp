#pragma once
// Internal to actors/accounts: the OAuth actor's state (oauth.cpp), one method
// per message with the multi-step flows split into named steps, and the
// decisions it takes (oauth_rules.cpp): plain functions of looked-up rows, no
// actor and no database, so tests call them directly.
#include "actors/accounts/oauth.hpp"
#include "actors/accounts/token_cache.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/oauth.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <optional>
#include <unordered_map>

namespace chorus::actors {

// ---- Decisions ------------------------------------------------------------------

namespace oauth_rules {

// The app's scopes; Mastodon's "read" when the stored list does not parse.
std::vector<std::string> app_scopes(const storage::pg::app_row& app);

// True if the app exists and `secret_digest` is the digest of its secret.
bool client_authenticated(const std::optional<storage::pg::app_row>& app, const std::string& secret_digest);

// The scopes a token grant will carry (the app's when none are asked for), or
// invalid_client (401) / invalid_scope (400).
caf::expected<std::vector<std::string>> grant_scopes(const std::optional<storage::pg::app_row>& app,
                                                     const token_grant& grant);

// Password grant: invalid_grant (400) unless the login exists, the password
// matched and the account is enabled.
caf::error check_login(const std::optional<storage::pg::login_row>& login, bool password_ok);

// An authorization request: known client, registered redirect URI, scopes within
// the app's. The scopes to grant, or invalid_client / invalid_request / invalid_scope (400).
caf::expected<std::vector<std::string>> authorized_scopes(const std::optional<storage::pg::app_row>& app,
                                                          const authorize_check& what);

// Sign-in on the authorization page: access_denied (401) for a wrong login,
// password or a disabled account (one answer for all, so it tells nothing).
caf::error check_sign_in(const std::optional<storage::pg::login_row>& login, bool password_ok);

// Who a looked-up token speaks for; unauthorized when it is unknown, revoked or
// its user is disabled.
caf::expected<auth_context> context_of(const std::optional<storage::pg::token_row>& row);

// A new application with its one-time secret, and the row stored for it (the
// secret only as a digest).
app_created new_app(const app_spec& spec, app_id id, std::string client_id, std::string client_secret);
storage::pg::app_row stored_app(const app_created& app);

// An application as shown to its own tokens: without client id and secret.
app_created public_app(const storage::pg::app_row& row);

} // namespace oauth_rules

// ---- State -----------------------------------------------------------------------

class oauth_state;
using oauth_ptr = oauth_actor::stateful_pointer<oauth_state>;

class oauth_state {
public:
  static inline const char* name = "chorus.oauth";

  explicit oauth_state(oauth_ptr self) : self_(self) {}

  void init(oauth_options opts, pg_pool_actor pool, blocking_pool_actor cpu, id_generator* ids, actor_registry* reg);

  // One per message of oauth_actor.
  caf::result<app_created> register_app(app_spec& spec);
  caf::result<app_created> find_app(const app_query& q);
  caf::result<token_issued> grant(token_grant& g);
  caf::result<authorization> check(const authorize_check& what);
  caf::result<authorization> authorize(authorize_request& req);
  caf::result<ok_atom> revoke(const token_revoke& r);
  caf::result<auth_context> authenticate(const bearer& b);

private:
  template <class T>
  using promise = caf::typed_response_promise<T>;
  struct grant_flow;
  struct authorize_flow;

  // token_grant: looked up → check_client → mint | redeem | (verify_password → mint)
  void check_client(std::shared_ptr<grant_flow> f, promise<token_issued> rp);
  void mint(app_id app, account_id account, std::vector<std::string> scopes, promise<token_issued> rp);
  void redeem(app_id app, const std::string& code, const std::string& redirect_uri, promise<token_issued> rp);

  // authorize_request: looked up → sign_in (verify_password) → issue_code
  void sign_in(std::shared_ptr<authorize_flow> f, promise<authorization> rp);
  void issue_code(std::shared_ptr<authorize_flow> f, promise<authorization> rp);

  // bearer: lookup_token (one per digest, however many wait) → settle
  void lookup_token(const std::string& digest);
  void settle(const std::string& digest, const caf::expected<auth_context>& answer);

  // Checks a password off the scheduler (against a dummy hash for an unknown
  // login, so timing does not tell), then `next(matched)`.
  template <class T, class Next>
  void verify_password(const std::optional<storage::pg::login_row>& login, std::string password, promise<T> rp,
                       Next next);

  // A refusal that counts as denied.
  template <class T>
  void deny(promise<T>& rp, caf::error err);

  void remember(const std::string& digest, const auth_context& ctx);

  oauth_ptr self_;
  oauth_options opts_;
  pg_pool_actor pool_;
  blocking_pool_actor cpu_;
  id_generator* ids_ = nullptr;
  std::shared_ptr<actor_stats> stats_;
  std::shared_ptr<token_cache> cache_;  // token digest → context, also read by HTTP threads
  std::unordered_map<std::string, std::vector<promise<auth_context>>> pending_;  // lookups in flight
};

} // namespace chorus::actors
