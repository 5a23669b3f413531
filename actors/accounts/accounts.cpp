#include "actors/accounts/oauth.hpp"
#include "actors/protocol/errors.hpp"
#include "common/crypto.hpp"
#include "common/scopes.hpp"
#include "storage/pg/accounts.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace chorus::actors {
namespace {

enum counter : std::size_t { c_registrations, c_refused, c_updates };

struct accounts_state {
  static inline const char* name = "chorus.accounts";
  accounts_options opts;
  pg_pool_actor pool;
  blocking_pool_actor cpu;
  id_generator* ids = nullptr;
  std::shared_ptr<actor_stats> stats;
  instance_stats cached_stats;
  std::chrono::steady_clock::time_point stats_until{};
};

using accounts_ptr = accounts_actor::stateful_pointer<accounts_state>;

template <class T>
void forward_error(caf::typed_response_promise<T> rp, caf::error& err) {
  rp.deliver(std::move(err));
}

accounts_actor::behavior_type accounts_fn(accounts_ptr self, accounts_options opts, pg_pool_actor pool,
                                          blocking_pool_actor cpu, id_generator* ids,
                                          actor_registry* reg) {
  auto& st = self->state;
  st.opts = opts;
  st.pool = std::move(pool);
  st.cpu = std::move(cpu);
  st.ids = ids;
  st.stats = reg->enlist(self, "accounts", "main", {"registrations", "refused", "updates"});
  return {
    [=](registration& r) -> caf::result<token_issued> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<token_issued>();
      auto req = std::make_shared<registration>(std::move(r));
      auto open = std::make_shared<bool>(true);
      // 1. Are registrations open?
      self->request(s.pool, s.opts.timeout,
                    db_call{"accounts.registrations_open",
                            [open](pqxx::connection_base& c) {
                              auto v = storage::pg::get_setting(c, "registrations");
                              *open = !v || *v != "\"closed\"";
                            }})
        .then(
          [=](ok_atom) mutable {
            auto& s = self->state;
            if (!*open) {
              s.stats->add(c_refused);
              { rp.deliver(make_error(errc::forbidden, "registrations are closed on this server")); return; }
            }
            // 2. Hash the password off the scheduler.
            auto hash = std::make_shared<std::string>();
            auto password = req->password;
            self->request(s.cpu, s.opts.timeout,
                          blocking_call{"argon2id.hash", [hash, password] { *hash = crypto::hash_password(password); }})
              .then(
                [=](ok_atom) mutable {
                  auto& s = self->state;
                  storage::pg::new_account a;
                  a.id = static_cast<std::int64_t>(s.ids->next());
                  a.username = req->username;
                  a.email = req->email;
                  a.password_hash = *hash;
                  a.locale = req->locale.empty() ? "en" : req->locale;
                  // 3. Account, user and the first token (the registering app's
                  //    scopes) commit together or not at all.
                  token_issued issued;
                  issued.access_token = crypto::random_token(32);
                  issued.scopes = req->app.scopes;
                  issued.account_id = account_id{a.id};
                  issued.created_at = std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
                  auto token_id = static_cast<std::int64_t>(s.ids->next());
                  auto digest = crypto::sha256_hex(issued.access_token);
                  auto app_id = req->app.app_id;
                  auto scope_text = scopes::join(issued.scopes);
                  db_call insert{"accounts.register", [=](pqxx::connection_base& c) {
                                   storage::pg::register_account(c, a, token_id, digest, app_id, scope_text);
                                 }};
                  self->request(s.pool, s.opts.timeout, std::move(insert))
                    .then(
                      [=](ok_atom) mutable {
                        self->state.stats->add(c_registrations);
                        rp.deliver(issued);
                      },
                      [rp](caf::error& err) mutable { forward_error(rp, err); });
                },
                [rp](caf::error& err) mutable { forward_error(rp, err); });
          },
          [rp](caf::error& err) mutable { forward_error(rp, err); });
      return rp;
    },
    [=](account_query& q) -> caf::result<storage::pg::account_row> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<storage::pg::account_row>();
      auto row = std::make_shared<std::optional<storage::pg::account_row>>();
      self->request(s.pool, s.opts.timeout,
                    db_call{"accounts.get",
                            [q, row](pqxx::connection_base& c) {
                              *row = q.id != 0 ? storage::pg::account_by_id(c, q.id)
                                               : storage::pg::account_by_username(c, q.username);
                              if (*row && q.owner)
                                (*row)->follow_requests_count = storage::pg::follow_requests_count(c, (*row)->id);
                            }})
        .then(
          [rp, row](ok_atom) mutable {
            if (!*row)
              { rp.deliver(make_error(errc::not_found, "Record not found")); return; }
            rp.deliver(**row);
          },
          [rp](caf::error& err) mutable { forward_error(rp, err); });
      return rp;
    },
    [=](instance_query&) -> caf::result<instance_stats> {
      auto& s = self->state;
      observe(self, *s.stats);
      if (std::chrono::steady_clock::now() < s.stats_until)
        return s.cached_stats;
      auto rp = self->make_response_promise<instance_stats>();
      auto out = std::make_shared<instance_stats>();
      self->request(s.pool, s.opts.timeout,
                    db_call{"accounts.instance_stats",
                            [out](pqxx::connection_base& c) { *out = storage::pg::load_instance_stats(c); }})
        .then(
          [self, rp, out](ok_atom) mutable {
            self->state.cached_stats = *out;
            self->state.stats_until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
            rp.deliver(*out);
          },
          [rp](caf::error& err) mutable { forward_error(rp, err); });
      return rp;
    },
    [=](credentials_update& u) -> caf::result<storage::pg::account_row> {
      auto& s = self->state;
      observe(self, *s.stats);
      auto rp = self->make_response_promise<storage::pg::account_row>();
      auto row = std::make_shared<storage::pg::account_row>();
      self->request(s.pool, s.opts.timeout,
                    db_call{"accounts.update",
                            [u, row](pqxx::connection_base& c) {
                              *row = storage::pg::update_account(c, u.account_id, u.fields);
                              row->follow_requests_count = storage::pg::follow_requests_count(c, u.account_id);
                            }})
        .then(
          [self, rp, row](ok_atom) mutable {
            self->state.stats->add(c_updates);
            rp.deliver(*row);
          },
          [rp](caf::error& err) mutable { forward_error(rp, err); });
      return rp;
    },
  };
}

} // namespace

accounts_actor spawn_accounts(caf::actor_system& sys, accounts_options opts, pg_pool_actor pool,
                              blocking_pool_actor cpu, id_generator& ids, actor_registry& reg) {
  return sys.spawn(accounts_fn, opts, std::move(pool), std::move(cpu), &ids, &reg);
}

} // namespace chorus::actors
