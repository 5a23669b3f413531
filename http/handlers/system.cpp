// GET /health, GET /ready, GET /metrics.
#include "actors/registry/registry.hpp"
#include "common/config.hpp"
#include "common/metrics.hpp"
#include "http/ask.hpp"
#include "common/log.hpp"
#include "http/error_mapping.hpp"
#include "http/handlers/handlers.hpp"

#include <nlohmann/json.hpp>

namespace chorus::http::handlers {

using namespace std::chrono;

handler_fn health(const actors::services& svc) {
  return [svc](request&, const responder& res) {
    // Liveness goes through the node actor: it proves the actor system schedules.
    auto timeout = milliseconds(svc.cfg->http.request_timeout_ms);
    ask(*svc.system, res, svc.node, timeout,
        [res, node = svc.cfg->node_name](actors::ok_atom) {
          res.json(200, {{"status", "ok"}, {"node", node}});
        },
        actors::health_atom::value);
  };
}

handler_fn streaming_health(const actors::services&) {
  return [](request&, const responder& res) {
    response r;
    r.content_type = "text/plain";
    r.body = "OK";
    res.send(std::move(r));
  };
}

handler_fn ready(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    auto timeout = milliseconds(svc.cfg->http.request_timeout_ms);
    // Why a dependency failed (addresses, driver messages) is for operators: it is
    // logged with the request id, and shown only to those the admin rule admits.
    bool detailed = admin_allowed(req, *svc.cfg);
    ask(*svc.system, res, svc.node, timeout,
        [res, detailed, rid = req.request_id](const actors::readiness& r) {
          nlohmann::json checks = {
            {"postgres", {{"ok", r.postgres}}},
            {"redis", {{"ok", r.redis}}},
            {"migrations", {{"ok", r.migrations}, {"applied", r.schema_version}, {"expected", r.expected_version}}},
          };
          if (!r.postgres_error.empty() || !r.redis_error.empty())
            log::write(log::level::warn, "not ready",
                       {{"req_id", rid}, {"postgres_error", r.postgres_error}, {"redis_error", r.redis_error}});
          if (detailed && !r.postgres_error.empty())
            checks["postgres"]["error"] = r.postgres_error;
          if (detailed && !r.redis_error.empty())
            checks["redis"]["error"] = r.redis_error;
          if (r.ready())
            return res.json(200, {{"status", "ready"}, {"checks", checks}});
          std::string why;
          if (!r.postgres) why += "postgres unreachable; ";
          else if (!r.migrations) why += "migrations not applied; ";
          if (!r.redis) why += "redis unreachable; ";
          if (!why.empty()) why.resize(why.size() - 2);
          auto resp = error_response(errc::unavailable, "Not ready", why);
          auto body = nlohmann::json::parse(resp.body);
          body["status"] = "not_ready";
          body["checks"] = checks;
          resp.body = body.dump();
          res.send(std::move(resp));
        },
        actors::ready_atom::value);
  };
}

handler_fn metrics(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    if (!svc.cfg->metrics_public && !admin_allowed(req, *svc.cfg))
      return res.fail(errc::forbidden, "This action is not allowed",
                      "metrics are served to loopback peers and admin tokens (metrics.public=false)");
    response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = svc.metrics->render();
    res.send(std::move(r));
  };
}

} // namespace chorus::http::handlers
