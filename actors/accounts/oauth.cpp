#include "actors/accounts/oauth.hpp"
#include "actors/accounts/oauth_state.hpp"

#include "actors/db/pool_job.hpp"
#include "actors/protocol/errors.hpp"
#include "common/crypto.hpp"
#include "common/scopes.hpp"

#include <caf/actor_system.hpp>

namespace chorus::actors {

namespace pg = storage::pg;

// ---- State: one method per message --------------------------------------------

namespace {

using clock = std::chrono::steady_clock;

enum counter : std::size_t { c_cached, c_hits, c_misses, c_grants, c_denied };

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

template <class T>
void deliver(caf::typed_response_promise<T>& rp, caf::expected<T> answer) {
  if (answer)
    rp.deliver(std::move(*answer));
  else
    rp.deliver(std::move(answer.error()));
}

} // namespace

struct oauth_state::grant_flow {
  token_grant grant;
  std::optional<pg::app_row> app;
  std::optional<pg::login_row> login;  // password grant only
  std::vector<std::string> scopes;     // decided by check_client
};

struct oauth_state::authorize_flow {
  authorize_request req;
  std::optional<pg::app_row> app;
  std::optional<pg::login_row> login;
  std::vector<std::string> scopes;  // decided by sign_in
};

void oauth_state::init(oauth_options opts, pg_pool_actor pool, blocking_pool_actor cpu, id_generator* ids,
                       actor_registry* reg) {
  cache_ = opts.cache ? opts.cache : std::make_shared<token_cache>(opts.cache_max);
  opts_ = std::move(opts);
  pool_ = std::move(pool);
  cpu_ = std::move(cpu);
  ids_ = ids;
  stats_ = reg->enlist(self_, "oauth", "main", {"cached_tokens", "cache_hits", "cache_misses", "grants", "denied"});
}

caf::result<app_created> oauth_state::register_app(app_spec& spec) {
  observe(self_, *stats_);
  auto rp = self_->make_response_promise<app_created>();
  auto id = app_id{static_cast<std::int64_t>(ids_->next())};
  auto client_id = crypto::random_token(32);
  auto out = oauth_rules::new_app(spec, id, client_id, crypto::random_token(32));
  auto row = oauth_rules::stored_app(out);
  pool_step(self_, pool_, opts_.timeout,
            db_call{"oauth.insert_app", [row](pqxx::connection_base& c) { pg::insert_app(c, row); }}, rp,
            [rp, out]() mutable { rp.deliver(out); });
  return rp;
}

caf::result<app_created> oauth_state::find_app(const app_query& q) {
  observe(self_, *stats_);
  auto rp = self_->make_response_promise<app_created>();
  auto row = std::make_shared<std::optional<pg::app_row>>();
  auto id = q.app_id;
  pool_step(self_, pool_, opts_.timeout,
            db_call{"oauth.app", [id, row](pqxx::connection_base& c) { *row = pg::app_by_id(c, id); }}, rp,
            [rp, row]() mutable {
              if (!*row)
                rp.deliver(make_error(errc::not_found, "Record not found"));
              else
                rp.deliver(oauth_rules::public_app(**row));
            });
  return rp;
}

caf::result<token_issued> oauth_state::grant(token_grant& g) {
  observe(self_, *stats_);
  auto rp = self_->make_response_promise<token_issued>();
  auto f = std::make_shared<grant_flow>();
  f->grant = std::move(g);
  db_call lookup{"oauth.grant_lookup", [f](pqxx::connection_base& c) {
                   f->app = pg::app_by_client_id(c, f->grant.client_id);
                   if (f->grant.grant_type == "password")
                     f->login = pg::login_by_email_or_username(c, f->grant.username);
                 }};
  pool_step(self_, pool_, opts_.timeout, std::move(lookup), rp, [this, f, rp] { check_client(f, rp); });
  return rp;
}

// Client and scopes checked, then on by grant type; any other type is a password grant.
void oauth_state::check_client(std::shared_ptr<grant_flow> f, promise<token_issued> rp) {
  auto scopes = oauth_rules::grant_scopes(f->app, f->grant);
  if (!scopes)
    return deny(rp, std::move(scopes.error()));
  f->scopes = std::move(*scopes);
  auto app = f->app->id;
  if (f->grant.grant_type == "client_credentials")
    return mint(app, account_id{}, f->scopes, rp);
  if (f->grant.grant_type == "authorization_code")
    return redeem(app, f->grant.code, f->grant.redirect_uri, rp);
  verify_password(f->login, f->grant.password, rp, [this, f, rp](bool matched) mutable {
    if (auto err = oauth_rules::check_login(f->login, matched))
      return deny(rp, std::move(err));
    mint(f->app->id, f->login->account.id, f->scopes, rp);
  });
}

void oauth_state::mint(app_id app, account_id account, std::vector<std::string> scopes, promise<token_issued> rp) {
  auto token = crypto::random_token(32);
  auto digest = crypto::sha256_hex(token);
  auto id = static_cast<std::int64_t>(ids_->next());
  auto scope_text = scopes::join(scopes);
  db_call call{"oauth.insert_token", [=](pqxx::connection_base& c) {
                 pg::issue_token(c, id, digest, app, account, scope_text);
               }};
  pool_step(self_, pool_, opts_.timeout, std::move(call), rp, [this, rp, token, scopes, account]() mutable {
    stats_->add(c_grants);
    rp.deliver(token_issued{token, scopes, unix_now(), account});
  });
}

// The code is consumed and the token inserted in one transaction, so a code
// yields at most one token.
void oauth_state::redeem(app_id app, const std::string& code, const std::string& redirect_uri,
                         promise<token_issued> rp) {
  auto token = crypto::random_token(32);
  auto digest = crypto::sha256_hex(token);
  auto code_digest = crypto::sha256_hex(code);
  auto id = static_cast<std::int64_t>(ids_->next());
  auto granted = std::make_shared<std::optional<pg::code_grant>>();
  db_call call{"oauth.redeem_code", [=](pqxx::connection_base& c) {
                 *granted = pg::redeem_code(c, code_digest, app, redirect_uri, id, digest);
               }};
  pool_step(self_, pool_, opts_.timeout, std::move(call), rp, [this, rp, granted, token]() mutable {
    if (!*granted)
      return deny(rp, make_error(errc::bad_request, "invalid_grant: the code is unknown, used, expired, or was "
                                                    "issued for another client or redirect URI"));
    stats_->add(c_grants);
    rp.deliver(token_issued{token, scopes::parse((*granted)->scopes).value_or(std::vector<std::string>{}),
                            unix_now(), (*granted)->account_id});
  });
}

caf::result<authorization> oauth_state::check(const authorize_check& what) {
  observe(self_, *stats_);
  auto rp = self_->make_response_promise<authorization>();
  auto app = std::make_shared<std::optional<pg::app_row>>();
  auto client_id = what.client_id;
  pool_step(self_, pool_, opts_.timeout,
            db_call{"oauth.authorize_check",
                    [app, client_id](pqxx::connection_base& c) { *app = pg::app_by_client_id(c, client_id); }},
            rp, [rp, app, what]() mutable {
              auto granted = oauth_rules::authorized_scopes(*app, what);
              if (granted)
                rp.deliver(authorization{(*app)->name, std::move(*granted), {}});
              else
                rp.deliver(std::move(granted.error()));
            });
  return rp;
}

caf::result<authorization> oauth_state::authorize(authorize_request& req) {
  observe(self_, *stats_);
  auto rp = self_->make_response_promise<authorization>();
  auto f = std::make_shared<authorize_flow>();
  f->req = std::move(req);
  db_call lookup{"oauth.authorize_lookup", [f](pqxx::connection_base& c) {
                   f->app = pg::app_by_client_id(c, f->req.what.client_id);
                   f->login = pg::login_by_email_or_username(c, f->req.username);
                 }};
  pool_step(self_, pool_, opts_.timeout, std::move(lookup), rp, [this, f, rp] { sign_in(f, rp); });
  return rp;
}

void oauth_state::sign_in(std::shared_ptr<authorize_flow> f, promise<authorization> rp) {
  auto granted = oauth_rules::authorized_scopes(f->app, f->req.what);
  if (!granted) {
    rp.deliver(std::move(granted.error()));
    return;
  }
  f->scopes = std::move(*granted);
  verify_password(f->login, f->req.password, rp, [this, f, rp](bool matched) mutable {
    if (auto err = oauth_rules::check_sign_in(f->login, matched))
      return deny(rp, std::move(err));
    issue_code(f, rp);
  });
}

void oauth_state::issue_code(std::shared_ptr<authorize_flow> f, promise<authorization> rp) {
  auto code = crypto::random_token(32);
  auto code_digest = crypto::sha256_hex(code);
  auto app = f->app->id;
  auto account = f->login->account.id;
  auto scope_text = scopes::join(f->scopes);
  auto redirect = f->req.what.redirect_uri;
  db_call insert{"oauth.insert_code", [=](pqxx::connection_base& c) {
                   pg::insert_code(c, code_digest, app, account, scope_text, redirect, 600);
                 }};
  pool_step(self_, pool_, opts_.timeout, std::move(insert), rp,
            [rp, f, code]() mutable { rp.deliver(authorization{f->app->name, f->scopes, code}); });
}

// Revokes only a token of the authenticated client; forgets it here either way.
caf::result<ok_atom> oauth_state::revoke(const token_revoke& r) {
  observe(self_, *stats_);
  auto rp = self_->make_response_promise<ok_atom>();
  auto digest = crypto::sha256_hex(r.token);
  auto secret_digest = crypto::sha256_hex(r.client_secret);
  auto client_id = r.client_id;
  auto authorized = std::make_shared<bool>(false);
  db_call call{"oauth.revoke", [=](pqxx::connection_base& c) {
                 auto app = pg::app_by_client_id(c, client_id);
                 if (!oauth_rules::client_authenticated(app, secret_digest))
                   return;
                 *authorized = true;
                 pg::revoke_token(c, digest, app->id);
               }};
  pool_step(self_, pool_, opts_.timeout, std::move(call), rp, [this, rp, digest, authorized]() mutable {
    cache_->forget(digest);
    if (*authorized && opts_.cluster)
      self_->send(opts_.cluster, token_revoked{digest});  // every other node forgets it too
    if (*authorized)
      rp.deliver(ok_atom::value);
    else
      rp.deliver(make_error(errc::forbidden, "unauthorized_client: client authentication failed"));
  });
  return rp;
}

caf::result<auth_context> oauth_state::authenticate(const bearer& b) {
  observe(self_, *stats_);
  auto digest = crypto::sha256_hex(b.token);
  if (auto hit = cache_->find(digest)) {
    stats_->add(c_hits);
    return *hit;
  }
  stats_->add(c_misses);
  auto rp = self_->make_response_promise<auth_context>();
  auto& waiting = pending_[digest];
  waiting.push_back(rp);
  if (waiting.size() == 1)  // else a lookup of this token is already running
    lookup_token(digest);
  return rp;
}

void oauth_state::lookup_token(const std::string& digest) {
  auto row = std::make_shared<std::optional<pg::token_row>>();
  self_->request(pool_, opts_.timeout,
                 db_call{"oauth.token_lookup",
                         [digest, row](pqxx::connection_base& c) { *row = pg::token_by_hash(c, digest); }})
    .then([this, digest, row](ok_atom) { settle(digest, oauth_rules::context_of(*row)); },
          [this, digest](caf::error& err) { settle(digest, err); });
}

// Answers everyone waiting for `digest`; a valid token is cached.
void oauth_state::settle(const std::string& digest, const caf::expected<auth_context>& answer) {
  auto waiters = std::move(pending_[digest]);
  pending_.erase(digest);
  if (answer)
    remember(digest, *answer);
  for (auto& w : waiters)
    deliver(w, answer);
}

template <class T, class Next>
void oauth_state::verify_password(const std::optional<pg::login_row>& login, std::string password, promise<T> rp,
                                  Next next) {
  auto matched = std::make_shared<bool>(false);
  auto hash = login ? login->password_hash : opts_.dummy_hash;
  blocking_call call{"argon2id.verify", [=] { *matched = crypto::verify_password(hash, password); }};
  pool_step(self_, cpu_, opts_.timeout, std::move(call), rp, [next, matched]() mutable { next(*matched); });
}

template <class T>
void oauth_state::deny(promise<T>& rp, caf::error err) {
  stats_->add(c_denied);
  rp.deliver(std::move(err));
}

void oauth_state::remember(const std::string& digest, const auth_context& ctx) {
  cache_->remember(digest, ctx, clock::now() + opts_.cache_ttl);
  stats_->set(c_cached, static_cast<std::int64_t>(cache_->size()));
}

// ---- Behaviour: routes each message to its state method ------------------------

namespace {

oauth_actor::behavior_type oauth_fn(oauth_ptr self, oauth_options opts, pg_pool_actor pool, blocking_pool_actor cpu,
                                    id_generator* ids, actor_registry* reg) {
  self->state.init(std::move(opts), std::move(pool), std::move(cpu), ids, reg);
  return {
    [self](app_spec& x) { return self->state.register_app(x); },
    [self](app_query& x) { return self->state.find_app(x); },
    [self](token_grant& x) { return self->state.grant(x); },
    [self](authorize_check& x) { return self->state.check(x); },
    [self](authorize_request& x) { return self->state.authorize(x); },
    [self](token_revoke& x) { return self->state.revoke(x); },
    [self](bearer& x) { return self->state.authenticate(x); },
  };
}

} // namespace

oauth_actor spawn_oauth(caf::actor_system& sys, oauth_options opts, pg_pool_actor pool, blocking_pool_actor cpu,
                        id_generator& ids, actor_registry& reg) {
  return sys.spawn(oauth_fn, opts, std::move(pool), std::move(cpu), &ids, &reg);
}

} // namespace chorus::actors
