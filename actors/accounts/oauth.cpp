#include "actors/accounts/oauth.hpp"
#include "actors/accounts/token_cache.hpp"

#include "actors/protocol/errors.hpp"
#include "common/crypto.hpp"
#include "common/scopes.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/oauth.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <algorithm>
#include <unordered_map>

namespace chorus::actors {
namespace {

using clock = std::chrono::steady_clock;

enum counter : std::size_t { c_cached, c_hits, c_misses, c_grants, c_denied };

struct oauth_state {
  static inline const char* name = "chorus.oauth";
  oauth_options opts;
  pg_pool_actor pool;
  blocking_pool_actor cpu;
  id_generator* ids = nullptr;
  std::shared_ptr<actor_stats> stats;
  std::shared_ptr<token_cache> cache;  // token digest → context, also read by HTTP threads
  std::unordered_map<std::string, std::vector<caf::typed_response_promise<auth_context>>> pending;
  std::string dummy_hash;  // verified against when the login is unknown, so timing does not tell

  void remember(const std::string& digest, const auth_context& ctx) {
    cache->remember(digest, ctx, clock::now() + opts.cache_ttl);
    stats->set(c_cached, static_cast<std::int64_t>(cache->size()));
  }
};

using oauth_ptr = oauth_actor::stateful_pointer<oauth_state>;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Mints a token for (app, account) and delivers it to `rp`.
void mint(oauth_ptr self, chorus::app_id app_id, chorus::account_id account_id, std::vector<std::string> scopes,
          caf::typed_response_promise<token_issued> rp) {
  auto& s = self->state;
  auto token = crypto::random_token(32);
  auto digest = crypto::sha256_hex(token);
  auto id = static_cast<std::int64_t>(s.ids->next());
  auto scope_text = scopes::join(scopes);
  db_call call{"oauth.insert_token", [=](pqxx::connection_base& c) {
                 storage::pg::issue_token(c, id, digest, app_id, account_id, scope_text);
               }};
  self->request(s.pool, s.opts.timeout, std::move(call))
    .then(
      [=](ok_atom) mutable {
        self->state.stats->add(c_grants);
        rp.deliver(token_issued{token, scopes, unix_now(), account_id});
      },
      [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

// Exchanges an authorization code for a token: the code is consumed and the token
// inserted in one transaction, so a code yields at most one token.
void redeem_code(oauth_ptr self, std::int64_t app_id, const std::string& code, const std::string& redirect_uri,
                 caf::typed_response_promise<token_issued> rp) {
  auto& s = self->state;
  auto token = crypto::random_token(32);
  auto digest = crypto::sha256_hex(token);
  auto code_digest = crypto::sha256_hex(code);
  auto id = static_cast<std::int64_t>(s.ids->next());
  auto granted = std::make_shared<std::optional<storage::pg::code_grant>>();
  db_call call{"oauth.redeem_code", [=](pqxx::connection_base& c) {
                 *granted = storage::pg::redeem_code(c, code_digest, app_id, redirect_uri, id, digest);
               }};
  self->request(s.pool, s.opts.timeout, std::move(call))
    .then(
      [=](ok_atom) mutable {
        if (!*granted) {
          self->state.stats->add(c_denied);
          rp.deliver(make_error(errc::bad_request, "invalid_grant: the code is unknown, used, expired, or was "
                                                   "issued for another client or redirect URI"));
          return;
        }
        self->state.stats->add(c_grants);
        rp.deliver(token_issued{token, scopes::parse((*granted)->scopes).value_or(std::vector<std::string>{}),
                                unix_now(), (*granted)->account_id});
      },
      [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

// Validates an authorization request against the app: known client, registered
// redirect URI, scopes within the app's. Returns the error or none.
caf::error check_authorization(const std::optional<storage::pg::app_row>& app, const authorize_check& what,
                               std::vector<std::string>& granted) {
  if (!app)
    return make_error(errc::bad_request, "invalid_client: unknown client_id");
  auto& uris = app->redirect_uris;
  if (std::find(uris.begin(), uris.end(), what.redirect_uri) == uris.end())
    return make_error(errc::bad_request, "invalid_request: redirect_uri is not registered for this application");
  auto app_scopes = scopes::parse(app->scopes).value_or(std::vector<std::string>{"read"});
  granted = what.scopes.empty() ? app_scopes : what.scopes;
  if (!scopes::subset(granted, app_scopes))
    return make_error(errc::bad_request, "invalid_scope: the requested scope exceeds the application's scopes");
  return {};
}

oauth_actor::behavior_type oauth_fn(oauth_ptr self, oauth_options opts, pg_pool_actor pool, blocking_pool_actor cpu,
                                    id_generator* ids, actor_registry* reg) {
  auto& st = self->state;
  st.opts = opts;
  st.cache = opts.cache ? opts.cache : std::make_shared<token_cache>(opts.cache_max);
  st.pool = std::move(pool);
  st.cpu = std::move(cpu);
  st.ids = ids;
  st.stats = reg->enlist(self, "oauth", "main", {"cached_tokens", "cache_hits", "cache_misses", "grants", "denied"});
  st.dummy_hash = opts.dummy_hash;
  return {
    [=](app_spec& spec) -> caf::result<app_created> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<app_created>();
      app_created out;
      out.id = app_id{static_cast<std::int64_t>(s.ids->next())};
      out.name = spec.name;
      out.website = spec.website;
      out.redirect_uris = spec.redirect_uris;
      out.scopes = spec.scopes;
      out.client_id = crypto::random_token(32);
      out.client_secret = crypto::random_token(32);
      storage::pg::app_row row{out.id, out.name, out.website, out.redirect_uris, scopes::join(out.scopes),
                               out.client_id, crypto::sha256_hex(out.client_secret)};
      self->request(s.pool, s.opts.timeout,
                    db_call{"oauth.insert_app", [row](pqxx::connection_base& c) { storage::pg::insert_app(c, row); }})
        .then([rp, out](ok_atom) mutable { rp.deliver(out); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](token_grant& g) -> caf::result<token_issued> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<token_issued>();
      auto app = std::make_shared<std::optional<storage::pg::app_row>>();
      auto login = std::make_shared<std::optional<storage::pg::login_row>>();
      auto grant = std::make_shared<token_grant>(std::move(g));
      db_call lookup{"oauth.grant_lookup", [=](pqxx::connection_base& c) {
                       *app = storage::pg::app_by_client_id(c, grant->client_id);
                       if (grant->grant_type == "password")
                         *login = storage::pg::login_by_email_or_username(c, grant->username);
                     }};
      auto deny = [self, rp](const char* code, const std::string& why, errc e) mutable {
        self->state.stats->add(c_denied);
        rp.deliver(make_error(e, std::string(code) + ": " + why));
      };
      self->request(s.pool, s.opts.timeout, std::move(lookup))
        .then(
          [=](ok_atom) mutable {
            auto& s = self->state;
            if (!*app || !crypto::equal(crypto::sha256_hex(grant->client_secret), (*app)->client_secret_hash))
              return deny("invalid_client", "client authentication failed", errc::unauthorized);
            auto app_scopes = scopes::parse((*app)->scopes).value_or(std::vector<std::string>{"read"});
            auto wanted = grant->scopes.empty() ? app_scopes : grant->scopes;
            if (!scopes::subset(wanted, app_scopes))
              return deny("invalid_scope", "the requested scope exceeds the application's scopes", errc::bad_request);
            auto app_id = (*app)->id;
            if (grant->grant_type == "client_credentials")
              return mint(self, app_id, account_id{}, wanted, rp);
            if (grant->grant_type == "authorization_code")
              return redeem_code(self, app_id, grant->code, grant->redirect_uri, rp);
            // password grant: verify off the scheduler, against a dummy hash when the login is unknown
            auto ok = std::make_shared<bool>(false);
            auto hash = *login ? (*login)->password_hash : s.dummy_hash;
            auto password = grant->password;
            self->request(s.cpu, s.opts.timeout,
                          blocking_call{"argon2id.verify", [=] { *ok = crypto::verify_password(hash, password); }})
              .then(
                [=](ok_atom) mutable {
                  if (!*login || !*ok)
                    return deny("invalid_grant", "the username or password is wrong", errc::bad_request);
                  if ((*login)->disabled)
                    return deny("invalid_grant", "this account is disabled", errc::bad_request);
                  mint(self, app_id, (*login)->account.id, wanted, rp);
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](authorize_check& what) -> caf::result<authorization> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<authorization>();
      auto app = std::make_shared<std::optional<storage::pg::app_row>>();
      self->request(s.pool, s.opts.timeout,
                    db_call{"oauth.authorize_check",
                            [=](pqxx::connection_base& c) { *app = storage::pg::app_by_client_id(c, what.client_id); }})
        .then(
          [=](ok_atom) mutable {
            std::vector<std::string> granted;
            if (auto err = check_authorization(*app, what, granted)) {
              rp.deliver(std::move(err));
              return;
            }
            rp.deliver(authorization{(*app)->name, granted, {}});
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](authorize_request& req) -> caf::result<authorization> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<authorization>();
      auto app = std::make_shared<std::optional<storage::pg::app_row>>();
      auto login = std::make_shared<std::optional<storage::pg::login_row>>();
      auto r = std::make_shared<authorize_request>(std::move(req));
      db_call lookup{"oauth.authorize_lookup", [=](pqxx::connection_base& c) {
                       *app = storage::pg::app_by_client_id(c, r->what.client_id);
                       *login = storage::pg::login_by_email_or_username(c, r->username);
                     }};
      self->request(s.pool, s.opts.timeout, std::move(lookup))
        .then(
          [=](ok_atom) mutable {
            auto& s = self->state;
            auto granted = std::make_shared<std::vector<std::string>>();
            if (auto err = check_authorization(*app, r->what, *granted)) {
              rp.deliver(std::move(err));
              return;
            }
            auto ok = std::make_shared<bool>(false);
            auto hash = *login ? (*login)->password_hash : s.dummy_hash;
            auto password = r->password;
            self->request(s.cpu, s.opts.timeout,
                          blocking_call{"argon2id.verify", [=] { *ok = crypto::verify_password(hash, password); }})
              .then(
                [=](ok_atom) mutable {
                  auto& s = self->state;
                  if (!*login || !*ok || (*login)->disabled) {
                    s.stats->add(c_denied);
                    rp.deliver(make_error(errc::unauthorized, "access_denied: the username or password is wrong"));
                    return;
                  }
                  auto code = crypto::random_token(32);
                  auto code_digest = crypto::sha256_hex(code);
                  auto app_id = (*app)->id;
                  auto account_id = (*login)->account.id;
                  auto scope_text = scopes::join(*granted);
                  auto redirect = r->what.redirect_uri;
                  auto name = (*app)->name;
                  self->request(s.pool, s.opts.timeout,
                                db_call{"oauth.insert_code",
                                        [=](pqxx::connection_base& c) {
                                          storage::pg::insert_code(c, code_digest, app_id, account_id, scope_text,
                                                                   redirect, 600);
                                        }})
                    .then([=](ok_atom) mutable { rp.deliver(authorization{name, *granted, code}); },
                          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](app_query& q) -> caf::result<app_created> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<app_created>();
      auto out = std::make_shared<app_created>();
      auto found = std::make_shared<bool>(false);
      db_call call{"oauth.app", [=](pqxx::connection_base& c) {
                     auto app = storage::pg::app_by_id(c, q.app_id);
                     if (!app)
                       return;
                     *found = true;
                     out->id = app->id;
                     out->name = app->name;
                     out->website = app->website;
                     out->redirect_uris = app->redirect_uris;
                     out->scopes = scopes::parse(app->scopes).value_or(std::vector<std::string>{"read"});
                   }};
      self->request(s.pool, s.opts.timeout, std::move(call))
        .then(
          [=](ok_atom) mutable {
            if (!*found)
              return rp.deliver(make_error(errc::not_found, "Record not found")), void();
            rp.deliver(std::move(*out));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](token_revoke& r) -> caf::result<ok_atom> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<ok_atom>();
      auto digest = crypto::sha256_hex(r.token);
      auto secret_digest = crypto::sha256_hex(r.client_secret);
      auto client_id = r.client_id;
      auto authorized = std::make_shared<bool>(false);
      db_call call{"oauth.revoke", [=](pqxx::connection_base& c) {
                     auto app = storage::pg::app_by_client_id(c, client_id);
                     if (!app || !crypto::equal(secret_digest, app->client_secret_hash))
                       return;
                     *authorized = true;
                     storage::pg::revoke_token(c, digest, app->id);
                   }};
      self->request(s.pool, s.opts.timeout, std::move(call))
        .then(
          [=](ok_atom) mutable {
            self->state.cache->forget(digest);
            if (!*authorized)
              { rp.deliver(make_error(errc::forbidden, "unauthorized_client: client authentication failed")); return; }
            rp.deliver(ok_atom::value);
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [=](bearer& b) -> caf::result<auth_context> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto digest = crypto::sha256_hex(b.token);
      if (auto hit = s.cache->find(digest)) {
        s.stats->add(c_hits);
        return *hit;
      }
      s.stats->add(c_misses);
      auto rp = self->make_response_promise<auth_context>();
      auto& waiting = s.pending[digest];
      waiting.push_back(rp);
      if (waiting.size() > 1)
        return rp;  // a lookup of this token is already running
      auto row = std::make_shared<std::optional<storage::pg::token_row>>();
      self->request(s.pool, s.opts.timeout,
                    db_call{"oauth.token_lookup",
                            [=](pqxx::connection_base& c) { *row = storage::pg::token_by_hash(c, digest); }})
        .then(
          [=](ok_atom) {
            auto& s = self->state;
            auto waiters = std::move(s.pending[digest]);
            s.pending.erase(digest);
            if (!*row || (*row)->disabled) {
              for (auto& w : waiters)
                w.deliver(make_error(errc::unauthorized, "The access token is invalid"));
              return;
            }
            auth_context ctx{(*row)->id, (*row)->app_id, (*row)->account_id,
                             scopes::parse((*row)->scopes).value_or(std::vector<std::string>{}), (*row)->admin};
            s.remember(digest, ctx);
            for (auto& w : waiters)
              w.deliver(ctx);
          },
          [=](caf::error& err) {
            auto& s = self->state;
            auto waiters = std::move(s.pending[digest]);
            s.pending.erase(digest);
            for (auto& w : waiters)
              w.deliver(err);
          });
      return rp;
    },
  };
}

} // namespace

oauth_actor spawn_oauth(caf::actor_system& sys, oauth_options opts, pg_pool_actor pool, blocking_pool_actor cpu,
                        id_generator& ids, actor_registry& reg) {
  return sys.spawn(oauth_fn, opts, std::move(pool), std::move(cpu), &ids, &reg);
}

} // namespace chorus::actors
