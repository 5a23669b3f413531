#include "actors/accounts/accounts_state.hpp"

#include "actors/db/pool_job.hpp"
#include "actors/protocol/errors.hpp"
#include "common/crypto.hpp"
#include "common/scopes.hpp"

#include <caf/actor_system.hpp>

namespace chorus::actors {

namespace pg = storage::pg;

// ---- Decisions ------------------------------------------------------------------

namespace accounts_rules {

bool registrations_open(const std::optional<std::string>& setting) {
  return !setting || *setting != "\"closed\"";
}

caf::error check_open(bool open) {
  if (!open)
    return make_error(errc::forbidden, "registrations are closed on this server");
  return {};
}

pg::new_account account_of(const registration& r, std::int64_t id, std::string password_hash) {
  pg::new_account a;
  a.id = id;
  a.username = r.username;
  a.email = r.email;
  a.password_hash = std::move(password_hash);
  a.locale = r.locale.empty() ? "en" : r.locale;
  return a;
}

token_issued first_token(const registration& r, account_id account, std::string access_token,
                         std::int64_t created_at) {
  token_issued t;
  t.access_token = std::move(access_token);
  t.scopes = r.app.scopes;
  t.account_id = account;
  t.created_at = created_at;
  return t;
}

std::optional<instance_stats> stats_cache::fresh(time_point now) const {
  if (now < until_)
    return value_;
  return std::nullopt;
}

void stats_cache::put(instance_stats s, time_point now) {
  value_ = std::move(s);
  until_ = now + ttl_;
}

} // namespace accounts_rules

// ---- State: one method per message --------------------------------------------

namespace {

enum counter : std::size_t { c_registrations, c_refused, c_updates };

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace

void accounts_state::init(accounts_options opts, pg_pool_actor pool, blocking_pool_actor cpu, id_generator* ids,
                          actor_registry* reg) {
  opts_ = opts;
  instance_ = accounts_rules::stats_cache{opts.instance_ttl};
  pool_ = std::move(pool);
  cpu_ = std::move(cpu);
  ids_ = ids;
  stats_ = reg->enlist(self_, "accounts", "main", {"registrations", "refused", "updates"});
}

caf::result<token_issued> accounts_state::register_account(registration& r) {
  observe(self_, *stats_);
  auto rp = self_->make_response_promise<token_issued>();
  auto req = std::make_shared<registration>(std::move(r));
  auto open = std::make_shared<bool>(true);
  db_call check{"accounts.registrations_open", [open](pqxx::connection_base& c) {
                  *open = accounts_rules::registrations_open(pg::get_setting(c, "registrations"));
                }};
  pool_step(self_, pool_, opts_.timeout, std::move(check), rp, [this, req, open, rp]() mutable {
    if (auto err = accounts_rules::check_open(*open)) {
      stats_->add(c_refused);
      rp.deliver(std::move(err));
      return;
    }
    hash_password(req, rp);
  });
  return rp;
}

// Off the scheduler: argon2id takes tens of milliseconds.
void accounts_state::hash_password(std::shared_ptr<registration> req, promise<token_issued> rp) {
  auto hash = std::make_shared<std::string>();
  auto password = req->password;
  pool_step(self_, cpu_, opts_.timeout,
            blocking_call{"argon2id.hash", [hash, password] { *hash = crypto::hash_password(password); }}, rp,
            [this, req, hash, rp] { store(req, *hash, rp); });
}

// Account, user and the first token (the registering app's scopes) commit
// together or not at all.
void accounts_state::store(std::shared_ptr<registration> req, std::string password_hash, promise<token_issued> rp) {
  auto a = accounts_rules::account_of(*req, static_cast<std::int64_t>(ids_->next()), std::move(password_hash));
  auto issued = accounts_rules::first_token(*req, account_id{a.id}, crypto::random_token(32), unix_now());
  auto token_id = static_cast<std::int64_t>(ids_->next());
  auto digest = crypto::sha256_hex(issued.access_token);
  auto app_id = req->app.app_id;
  auto scope_text = scopes::join(issued.scopes);
  db_call insert{"accounts.register", [=](pqxx::connection_base& c) {
                   pg::register_account(c, a, token_id, digest, app_id, scope_text);
                 }};
  pool_step(self_, pool_, opts_.timeout, std::move(insert), rp, [this, rp, issued]() mutable {
    stats_->add(c_registrations);
    rp.deliver(issued);
  });
}

caf::result<pg::account_row> accounts_state::find(const account_query& q) {
  observe(self_, *stats_);
  auto rp = self_->make_response_promise<pg::account_row>();
  auto row = std::make_shared<std::optional<pg::account_row>>();
  db_call load{"accounts.get", [q, row](pqxx::connection_base& c) {
                 *row = q.id != 0 ? pg::account_by_id(c, q.id) : pg::account_by_username(c, q.username);
                 if (*row && q.owner)
                   (*row)->follow_requests_count = pg::follow_requests_count(c, (*row)->id);
               }};
  pool_step(self_, pool_, opts_.timeout, std::move(load), rp, [rp, row]() mutable {
    if (*row)
      rp.deliver(**row);
    else
      rp.deliver(make_error(errc::not_found, "Record not found"));
  });
  return rp;
}

caf::result<pg::account_row> accounts_state::update(const credentials_update& u) {
  observe(self_, *stats_);
  auto rp = self_->make_response_promise<pg::account_row>();
  auto row = std::make_shared<pg::account_row>();
  db_call change{"accounts.update", [u, row](pqxx::connection_base& c) {
                   *row = pg::update_account(c, u.account_id, u.fields);
                   row->follow_requests_count = pg::follow_requests_count(c, u.account_id);
                 }};
  auto who = u.account_id;
  pool_step(self_, pool_, opts_.timeout, std::move(change), rp, [this, rp, row, who]() mutable {
    stats_->add(c_updates);
    if (opts_.cluster)
      self_->send(opts_.cluster, hot_invalidate{{}, {who}});  // this node's cache and every member's
    rp.deliver(*row);
  });
  return rp;
}

caf::result<instance_stats> accounts_state::instance() {
  observe(self_, *stats_);
  if (auto cached = instance_.fresh(self_->clock().now()))
    return *cached;
  auto rp = self_->make_response_promise<instance_stats>();
  auto out = std::make_shared<instance_stats>();
  db_call load{"accounts.instance_stats",
               [out](pqxx::connection_base& c) { *out = pg::load_instance_stats(c); }};
  pool_step(self_, pool_, opts_.timeout, std::move(load), rp, [this, rp, out]() mutable {
    instance_.put(*out, self_->clock().now());
    rp.deliver(*out);
  });
  return rp;
}

// ---- Behaviour: routes each message to its state method ------------------------

namespace {

accounts_actor::behavior_type accounts_fn(accounts_ptr self, accounts_options opts, pg_pool_actor pool,
                                          blocking_pool_actor cpu, id_generator* ids, actor_registry* reg) {
  self->state.init(opts, std::move(pool), std::move(cpu), ids, reg);
  return {
    [self](registration& x) { return self->state.register_account(x); },
    [self](account_query& x) { return self->state.find(x); },
    [self](instance_query&) { return self->state.instance(); },
    [self](credentials_update& x) { return self->state.update(x); },
  };
}

} // namespace

accounts_actor spawn_accounts(caf::actor_system& sys, accounts_options opts, pg_pool_actor pool,
                              blocking_pool_actor cpu, id_generator& ids, actor_registry& reg) {
  return sys.spawn(accounts_fn, opts, std::move(pool), std::move(cpu), &ids, &reg);
}

} // namespace chorus::actors
