// /api/v1/chorus/admin/*: live actors, cluster nodes, migrations, log level, routes.
#include "actors/registry/registry.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "http/ask.hpp"
#include "http/dto/body.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/dto/limits.hpp"
#include "http/pagination.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>

namespace chorus::http::handlers {

using namespace std::chrono;

bool admin_allowed(const request& req, const config& cfg) {
  if (req.remote_loopback && !req.header("x-forwarded-for") && !req.header("forwarded"))
    return true;
  if (cfg.admin_token.empty())
    return false;
  auto auth = req.header("authorization");
  if (!auth || auth->size() < 7 || auth->substr(0, 7) != "Bearer ")
    return false;
  auto token = auth->substr(7);
  return token.size() == cfg.admin_token.size() &&
         CRYPTO_memcmp(token.data(), cfg.admin_token.data(), token.size()) == 0;
}

namespace {

// Wraps a handler so that non-admin callers get 401 (no credentials) or 403.
handler_fn guarded(const actors::services& svc, handler_fn inner) {
  return [svc, inner = std::move(inner)](request& req, const responder& res) {
    if (admin_allowed(req, *svc.cfg))
      return inner(req, res);
    if (!req.header("authorization"))
      return res.fail(errc::unauthorized, "The access token is invalid",
                      "admin routes need a loopback peer or the admin token");
    res.fail(errc::forbidden, "This action is not allowed");
  };
}

} // namespace

handler_fn admin_actors(const actors::services& svc) {
  return guarded(svc, [svc](request& req, const responder& res) {
    auto q = req.query();
    auto kind = q.count("kind") ? q["kind"] : std::string();
    auto snap = svc.registry->snapshot();
    nlohmann::json list = nlohmann::json::array();
    std::map<std::string, int> counts;
    for (auto& a : snap) {
      ++counts[a.kind];
      if (!kind.empty() && a.kind != kind)
        continue;
      list.push_back({{"id", std::to_string(a.id)},
                      {"kind", a.kind},
                      {"name", a.name},
                      {"uptime_s", a.uptime_s},
                      {"messages", a.processed},
                      {"mailbox", a.mailbox},
                      {"mailbox_high_water", a.mailbox_high_water},
                      {"counters", a.counters}});
    }
    res.json(200, {{"node", svc.registry->node()}, {"total", snap.size()}, {"by_kind", counts}, {"actors", list}});
  });
}

handler_fn admin_nodes(const actors::services& svc) {
  return guarded(svc, [svc](request&, const responder& res) {
    ask(*svc.system, res, svc.node, milliseconds(svc.cfg->http.request_timeout_ms),
        [res](const std::vector<actors::node_entry>& nodes) {
          nlohmann::json out = nlohmann::json::array();
          for (auto& n : nodes)
            out.push_back({{"name", n.name},
                           {"http_address", n.http_address},
                           {"version", n.version},
                           {"started_at", n.started_at},
                           {"last_seen_at", n.last_seen_at},
                           {"seconds_since_seen", n.seconds_since_seen}});
          res.json(200, out);
        },
        actors::nodes_atom::value);
  });
}

// The cluster as this node sees it: members, their state, addresses, versions,
// uptime, round trips and how many per-user actors each holds and owns.
handler_fn admin_cluster(const actors::services& svc) {
  return guarded(svc, [svc](request&, const responder& res) {
    ask(*svc.system, res, svc.cluster, milliseconds(svc.cfg->http.request_timeout_ms),
        [res](const actors::cluster_status& st) {
          auto now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
          nlohmann::json members = nlohmann::json::array();
          for (auto& m : st.members)
            members.push_back({{"name", m.info.name},
                               {"state", m.state},
                               {"incarnation", m.info.incarnation},
                               {"version", m.info.version},
                               {"protocol", m.info.protocol},
                               {"http_address", m.info.http_address},
                               {"cluster_address", m.info.cluster_address},
                               {"uptime_s", m.info.started_ms > 0 ? (now_ms - m.info.started_ms) / 1000.0 : 0.0},
                               {"connected", m.connected},
                               {"last_heard_s", m.last_heard_s},
                               {"rtt_ms", m.rtt_ms},
                               {"rtt_avg_ms", m.rtt_avg_ms},
                               {"live_feeds", m.live_feeds},
                               {"owned_users_per_10k", m.owned_users_sample},
                               {"error", m.error}});
          res.json(200, {{"self", st.self},
                         {"transport", st.transport},
                         {"secret", st.authenticated},
                         {"protocol", st.protocol},
                         {"members", members}});
        },
        actors::cluster_atom::value);
  });
}

handler_fn admin_migrations(const actors::services& svc) {
  return guarded(svc, [svc](request&, const responder& res) {
    ask(*svc.system, res, svc.node, milliseconds(svc.cfg->http.request_timeout_ms),
        [res](const std::vector<actors::migration_entry>& ms) {
          nlohmann::json out = nlohmann::json::array();
          for (auto& m : ms)
            out.push_back({{"version", m.version}, {"name", m.name}, {"applied_at", m.applied_at}});
          res.json(200, out);
        },
        actors::migr_atom::value);
  });
}

handler_fn admin_get_log_level(const actors::services& svc) {
  return guarded(svc, [](request&, const responder& res) {
    res.json(200, {{"level", log::to_string(log::current_level())}});
  });
}

handler_fn admin_put_log_level(const actors::services& svc) {
  return guarded(svc, [](request& req, const responder& res) {
    auto body = read_body(req, res);
    if (!body)
      return;
    auto it = body->find("level");
    if (it == body->end() || !it->is_string())
      return res.fail(errc::unprocessable, "Validation failed", "'level' is required and must be a string");
    log::level lvl;
    if (!log::parse_level(it->get<std::string>(), lvl))
      return res.fail(errc::unprocessable, "Validation failed", "'level' must be debug, info, warn or error");
    log::set_level(lvl);
    log::write(log::level::warn, "log level changed", {{"level", log::to_string(lvl)}});
    res.json(200, {{"level", log::to_string(lvl)}});
  });
}

handler_fn admin_routes(const actors::services& svc, std::weak_ptr<const router> routes) {
  return guarded(svc, [routes](request&, const responder& res) {
    nlohmann::json out = nlohmann::json::array();
    if (auto r = routes.lock())
      for (auto& e : r->list())
        out.push_back({{"method", e.method}, {"path", e.pattern}});
    res.json(200, out);
  });
}

handler_fn admin_takedown(const actors::services& svc) {
  return guarded(svc, [svc](request& req, const responder& res) {
    status_id id;
    if (!parse_id(req.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    actors::status_action a;
    a.id = id;
    a.verb = actors::status_verb::takedown;
    ask(*svc.system, res, svc.statuses, milliseconds(svc.cfg->http.request_timeout_ms),
        [res, id](const actors::status_view&) {
          res.json(200, {{"id", std::to_string(id)}, {"removed", true}});
        },
        a);
  });
}

namespace {

nlohmann::json job_json(const storage::pg::job_row& j) {
  return {{"id", std::to_string(j.id)}, {"queue", j.queue}, {"kind", j.kind}, {"state", j.state},
          {"priority", j.priority}, {"attempts", j.attempts}, {"max_attempts", j.max_attempts},
          {"run_at", j.run_at}, {"created_at", j.created_at},
          {"last_error", j.last_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(j.last_error)},
          {"unique_key", j.unique_key.empty() ? nlohmann::json(nullptr) : nlohmann::json(j.unique_key)},
          {"payload", nlohmann::json::parse(j.payload, nullptr, false)}};
}

} // namespace

handler_fn admin_jobs(const actors::services& svc) {
  return guarded(svc, [svc](request& req, const responder& res) {
    auto q = req.query();
    actors::jobs_query jq;
    jq.queue = q.count("queue") ? q["queue"] : "";
    if (jq.queue.size() > limits::name_param_bytes)
      return res.fail(errc::unprocessable, "Validation failed", "'queue' names no queue");
    jq.state = q.count("state") ? q["state"] : "";
    if (!jq.state.empty() && jq.state != "queued" && jq.state != "running" && jq.state != "dead")
      return res.fail(errc::unprocessable, "Validation failed", "'state' must be queued, running or dead");
    if (q.count("max_id") && !parse_id(q["max_id"], jq.before))
      return res.fail(errc::unprocessable, "Validation failed", "'max_id' must be a job id");
    if (q.count("limit")) {
      auto& raw = q["limit"];
      if (raw.empty() || raw.find_first_not_of("0123456789") != std::string::npos || raw.find_first_not_of('0') == std::string::npos)
        return res.fail(errc::unprocessable, "Validation failed", "'limit' must be a positive integer (at most 500 are shown)");
      jq.limit = page_limit(raw, jq.limit, 500);
    }
    ask(*svc.system, res, svc.jobs, milliseconds(svc.cfg->http.request_timeout_ms),
        [res](const actors::jobs_view& v) {
          nlohmann::json queues = nlohmann::json::array(), jobs = nlohmann::json::array();
          for (auto& d : v.queues)
            queues.push_back({{"queue", d.queue}, {"queued", d.queued}, {"runnable", d.runnable},
                              {"running", d.running}, {"dead", d.dead}, {"oldest_runnable_s", d.oldest_runnable_s}});
          for (auto& j : v.jobs)
            jobs.push_back(job_json(j));
          res.json(200, {{"queues", queues}, {"jobs", jobs}});
        },
        jq);
  });
}

handler_fn admin_job_action(const actors::services& svc, bool replay) {
  return guarded(svc, [svc, replay](request& req, const responder& res) {
    job_id id;
    if (!parse_id(req.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    ask(*svc.system, res, svc.jobs, milliseconds(svc.cfg->http.request_timeout_ms),
        [res, id, replay](const actors::jobs_changed& c) {
          if (c.ids.empty())
            return res.fail(errc::not_found, "Record not found",
                            replay ? "no dead job with this id (or an active job holds its unique key)"
                                   : "no queued job with this id");
          res.json(200, {{"id", std::to_string(id)}, {"state", "queued"}});
        },
        actors::jobs_action{{id}, replay});
  });
}

} // namespace chorus::http::handlers
