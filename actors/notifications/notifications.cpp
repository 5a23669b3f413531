#include "actors/notifications/notifications.hpp"

#include "actors/db/pool_job.hpp"
#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "storage/pg/notifications.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/transaction>

namespace chorus::actors {
namespace {

namespace pg = storage::pg;

struct notifications_state {
  static inline const char* name = "chorus.notifications";
  notifications_options opts;
  pg_pool_actor pool;
  notification_renderer render;
  std::shared_ptr<actor_stats> stats;  // jobs, created, filtered, published, queries, bad_jobs
};

using self_ptr = notifications_actor::stateful_pointer<notifications_state>;

// The statuses and accounts notifications (and groups' samples) refer to.
void refs_of(const std::vector<model::notification>& items, const std::vector<model::notification_group>& groups,
             std::vector<status_id>& statuses, std::vector<account_id>& accounts) {
  for (auto& n : items) {
    if (n.status.value())
      statuses.push_back(n.status);
    accounts.push_back(n.from_account_id);
  }
  for (auto& g : groups)
    accounts.insert(accounts.end(), g.sample_account_ids.begin(), g.sample_account_ids.end());
}

model::status_bundle hydrate_items(pqxx::connection_base& c, const std::vector<model::notification>& items,
                                   const std::vector<model::notification_group>& groups, account_id viewer) {
  std::vector<status_id> statuses;
  std::vector<account_id> accounts;
  refs_of(items, groups, statuses, accounts);
  return pg::hydrate(c, statuses, accounts, viewer);
}

pg::notification_filter filter_of(const notification_query& q) {
  return {q.types, q.exclude_types, q.account.value(), q.include_filtered};
}

// What a query's pool job leaves for the actor when the statuses come from the
// hot-status cache: the ids to ask it for and the viewer's part of the rows.
struct query_out {
  notification_view view;
  std::vector<status_id> statuses;  // to hydrate from the cache (empty: hydrated already)
  pg::viewer_extras extras;
};

bool reads_items(notification_op op) {
  return op == notification_op::list || op == notification_op::get || op == notification_op::grouped ||
         op == notification_op::group_get;
}

// The read endpoints that list notifications, in one transaction: the page, and
// either its hydration (statuses with the viewer's flags, accounts) or, with
// `cached`, only the accounts and flags (the statuses come from the cache).
void run_read(pqxx::connection_base& c, const notification_query& q, bool cached, query_out& out) {
  using op = notification_op;
  auto& v = out.view;
  pqxx::work tx(c);
  switch (q.op) {
    case op::list: v.items = pg::list_notifications(tx, q.viewer, filter_of(q), q.page); break;
    case op::get: v.items = {pg::get_notification(tx, q.viewer, q.id)}; break;
    case op::grouped: {
      auto g = pg::grouped_notifications(tx, q.viewer, filter_of(q), q.grouped_types, q.page);
      v.items = std::move(g.items);
      v.groups = std::move(g.groups);
      break;
    }
    default: {  // group_get
      auto g = pg::notification_group(tx, q.viewer, q.group_key);
      v.items = std::move(g.items);
      v.groups = std::move(g.groups);
      break;
    }
  }
  std::vector<status_id> statuses;
  std::vector<account_id> accounts;
  refs_of(v.items, v.groups, statuses, accounts);
  if (cached) {
    out.extras = pg::load_viewer_extras(tx, statuses, accounts, q.viewer);
    out.statuses = std::move(statuses);
  } else {
    v.bundle = pg::hydrate(tx, statuses, accounts, q.viewer);
  }
  if (!v.items.empty()) {
    v.newest_cursor = v.items.front().id.value();
    v.oldest_cursor = v.items.back().id.value();
  }
}

// The work of the other endpoints on a pooled connection.
caf::error run_query(pqxx::connection_base& c, const notification_query& q, notification_view& v) {
  using op = notification_op;
  switch (q.op) {
    case op::list:
    case op::get:
    case op::grouped:
    case op::group_get: {
      query_out out;
      run_read(c, q, false, out);
      v = std::move(out.view);
      return {};
    }
    case op::clear:
      pg::clear_notifications(c, q.viewer);
      return {};
    case op::dismiss:
      if (!pg::dismiss_notification(c, q.viewer, q.id))
        return make_error(errc::not_found, "Record not found");
      return {};
    case op::unread:
      v.count = pg::unread_count(c, q.viewer, filter_of(q), q.page.limit);
      return {};
    case op::group_accounts:
      v.account_ids = pg::group_accounts(c, q.viewer, q.group_key, 80);
      v.bundle = pg::hydrate(c, {}, v.account_ids, q.viewer);
      return {};
    case op::group_dismiss:
      pg::dismiss_group(c, q.viewer, q.group_key);
      return {};
    case op::grouped_unread:
      v.count = pg::grouped_unread_count(c, q.viewer, filter_of(q), q.grouped_types, q.page.limit);
      return {};
    case op::policy_get:
      v.policy = pg::get_policy(c, q.viewer);
      return {};
    case op::policy_set:
      v.policy = pg::set_policy(c, q.viewer, q.policy);
      return {};
    case op::requests:
    case op::request_get: {
      v.requests = q.op == op::requests ? pg::list_requests(c, q.viewer, q.page)
                                        : std::vector<model::notification_request>{
                                            pg::get_request(c, q.viewer, q.request_ids.empty() ? notification_request_id{}
                                                                                                : q.request_ids.front())};
      std::vector<status_id> statuses;
      std::vector<account_id> accounts;
      for (auto& r : v.requests) {
        statuses.push_back(r.last_status);
        accounts.push_back(r.from_account_id);
      }
      v.bundle = pg::hydrate(c, statuses, accounts, q.viewer);
      if (!v.requests.empty()) {
        v.newest_cursor = v.requests.front().id.value();
        v.oldest_cursor = v.requests.back().id.value();
      }
      return {};
    }
    case op::request_accept:
      v.count = static_cast<std::int64_t>(pg::accept_requests(c, q.viewer, q.request_ids).size());
      return {};
    case op::request_dismiss:
      v.count = static_cast<std::int64_t>(pg::dismiss_requests(c, q.viewer, q.request_ids).size());
      return {};
    case op::markers_get: {
      std::vector<std::string> timelines;
      for (auto& m : q.markers)
        timelines.push_back(m.timeline);
      v.markers = pg::get_markers(c, q.viewer, timelines);
      return {};
    }
    case op::markers_set:
      v.markers = pg::set_markers(c, q.viewer, q.markers);
      return {};
  }
  return {};
}

// A notification page with a hot-status cache: one pool job (page, accounts,
// the viewer's flags), then the statuses from the cache (memory for hot ones).
caf::result<notification_view> cached_read(self_ptr self, const notification_query& q) {
  auto& st = self->state;
  auto rp = self->make_response_promise<notification_view>();
  auto out = std::make_shared<query_out>();
  self->request(st.pool, st.opts.timeout,
                db_call{"notifications.query", [q, out](pqxx::connection_base& c) { run_read(c, q, true, *out); }})
    .then(
      [self, rp, out](ok_atom) mutable {
        if (out->statuses.empty()) {
          pg::apply_viewer_extras(out->view.bundle, std::move(out->extras));
          return rp.deliver(std::move(out->view)), void();
        }
        self->request(self->state.opts.cache, self->state.opts.timeout, hot_get{out->statuses})
          .then(
            [rp, out](hot_reply& r) mutable {
              out->view.bundle = std::move(r.bundle);
              pg::apply_viewer_extras(out->view.bundle, std::move(out->extras));
              rp.deliver(std::move(out->view));
            },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      },
      [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

// A notify job's payload; false when it is not one.
bool parse_event(const std::string& payload, pg::notify_event& ev) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    return false;
  auto num = [&](const char* key) -> std::int64_t {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
  };
  ev.type = j["type"].get<std::string>();
  ev.recipient = num("to");
  ev.from = num("from");
  ev.status = num("status");
  ev.activity = num("activity");
  ev.at_ms = num("at");
  return !ev.type.empty();
}

struct delivered {
  std::vector<model::notification> created;
  model::status_bundle bundle;  // for rendering the shown ones (viewer-independent)
};

caf::result<ok_atom> run_job(self_ptr self, job_work& w) {
  auto& st = self->state;
  st.stats->add(0);
  pg::notify_event ev;
  if (!parse_event(w.payload, ev)) {
    st.stats->add(5);
    return make_error(errc::unprocessable, "not a notify payload");
  }
  bool publish = st.opts.streams && st.render;
  auto out = std::make_shared<delivered>();
  auto rp = self->make_response_promise<ok_atom>();
  self->request(st.pool, st.opts.timeout, db_call{"notifications.deliver", [ev, out, publish](pqxx::connection_base& c) {
                  out->created = pg::deliver(c, ev);
                  std::vector<model::notification> shown;
                  for (auto& n : out->created)
                    if (!n.filtered)
                      shown.push_back(n);
                  if (publish && !shown.empty())
                    out->bundle = hydrate_items(c, shown, {}, account_id{});
                }})
    .then(
      [self, out, rp](ok_atom) mutable {
        auto& st = self->state;
        for (auto& n : out->created) {
          st.stats->add(n.filtered ? 2 : 1);
          if (n.filtered || !st.opts.streams || !st.render)
            continue;
          // No `from`: like Mastodon's streaming server, only statuses are filtered
          // at delivery; notifications were filtered for this recipient when made
          // (a mute that keeps notifications must still show them).
          self->send(st.opts.streams, user_stream_event{n.account_id, {"user", "user:notification"},
                                                        stream_event{"notification", st.render(n, out->bundle)},
                                                        account_id{}});
          st.stats->add(3);
        }
        rp.deliver(ok_atom::value);
      },
      [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

notifications_actor::behavior_type notifications_fn(self_ptr self, notifications_options opts, pg_pool_actor pool,
                                                    actor_registry* reg) {
  self->state.opts = std::move(opts);
  self->state.pool = std::move(pool);
  self->state.stats =
    reg->enlist(self, "notifications", "main", {"jobs", "created", "filtered", "published", "queries", "bad_jobs"});
  return {
    [self](notification_query& q) -> caf::result<notification_view> {
      observe(self, *self->state.stats);
      self->state.stats->add(4);
      if (self->state.opts.cache && reads_items(q.op))
        return cached_read(self, q);
      return pool_job<notification_view>(self, self->state.pool, self->state.opts.timeout, "notifications.query",
                                         [q](pqxx::connection_base& c, notification_view& v) { return run_query(c, q, v); });
    },
    [self](job_work& w) -> caf::result<ok_atom> {
      observe(self, *self->state.stats);
      return run_job(self, w);
    },
    [self](notification_renderer_install& r) {
      observe(self, *self->state.stats);
      self->state.render = std::move(r.render);
    },
  };
}

} // namespace

notifications_actor spawn_notifications(caf::actor_system& sys, notifications_options opts, pg_pool_actor pool,
                                        actor_registry& reg) {
  return sys.spawn(notifications_fn, std::move(opts), std::move(pool), &reg);
}

} // namespace chorus::actors
