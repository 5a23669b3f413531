#include "http/routes.hpp"

#include "http/handlers/handlers.hpp"

namespace chorus::http {

std::shared_ptr<const router> make_routes(const actors::services& svc) {
  namespace h = handlers;
  auto r = std::make_shared<router>();
  // Operations
  r->add("GET", "/health", h::health(svc));
  r->add("GET", "/ready", h::ready(svc));
  r->add("GET", "/metrics", h::metrics(svc));
  // OAuth and applications (Mastodon)
  r->add("POST", "/api/v1/apps", h::create_app(svc));
  r->add("GET", "/api/v1/apps/verify_credentials", h::verify_app(svc));
  r->add("POST", "/oauth/token", h::token(svc));
  r->add("POST", "/oauth/revoke", h::revoke(svc));
  r->add("GET", "/oauth/authorize", h::authorize_page(svc));
  r->add("POST", "/oauth/authorize", h::authorize_submit(svc));
  // Accounts (Mastodon)
  r->add("POST", "/api/v1/accounts", h::register_account(svc));
  r->add("GET", "/api/v1/accounts/verify_credentials", h::verify_credentials(svc));
  r->add("PATCH", "/api/v1/accounts/update_credentials", h::update_credentials(svc));
  r->add("GET", "/api/v1/accounts/lookup", h::lookup_account(svc));
  r->add("GET", "/api/v1/accounts/:id", h::get_account(svc));
  // Chorus extras: admin (loopback or admin token)
  r->add("GET", "/api/v1/chorus/admin/actors", h::admin_actors(svc));
  r->add("GET", "/api/v1/chorus/admin/nodes", h::admin_nodes(svc));
  r->add("GET", "/api/v1/chorus/admin/migrations", h::admin_migrations(svc));
  r->add("GET", "/api/v1/chorus/admin/log_level", h::admin_get_log_level(svc));
  r->add("PUT", "/api/v1/chorus/admin/log_level", h::admin_put_log_level(svc));
  r->add("GET", "/api/v1/chorus/admin/routes", h::admin_routes(svc, r));
  return r;
}

} // namespace chorus::http
