// POST /api/v1/apps, GET /api/v1/apps/verify_credentials, POST /oauth/token, POST /oauth/revoke.
#include "actors/protocol/errors.hpp"
#include "common/config.hpp"
#include "common/scopes.hpp"
#include "http/ask.hpp"
#include "http/auth.hpp"
#include "http/dto/body.hpp"
#include "http/error_mapping.hpp"
#include "http/handlers/handlers.hpp"

#include <nlohmann/json.hpp>

namespace chorus::http::handlers {

using namespace std::chrono;

namespace {

// RFC 6749 error body. Actor errors carry "code: description".
void oauth_fail(const responder& res, const caf::error& err) {
  auto code = actors::code_of(err);
  auto desc = actors::description_of(err);
  auto colon = desc.find(": ");
  static const char* known[] = {"invalid_client", "invalid_grant", "invalid_scope", "unauthorized_client",
                                "unsupported_grant_type", "invalid_request"};
  if (colon != std::string::npos) {
    auto oauth_code = desc.substr(0, colon);
    for (auto k : known)
      if (oauth_code == k) {
        auto r = error_response(code, oauth_code, desc.substr(colon + 2));
        return res.send(std::move(r));
      }
  }
  res.fail(err);
}

void oauth_error(const responder& res, errc code, const char* oauth_code, const std::string& desc) {
  res.send(error_response(code, oauth_code, desc));
}

std::string required(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

nlohmann::json app_json(const actors::app_created& a, bool with_secret) {
  nlohmann::json j = {
    {"id", std::to_string(a.id)},
    {"name", a.name},
    {"website", a.website.empty() ? nlohmann::json() : nlohmann::json(a.website)},
    {"redirect_uri", a.redirect_uris.empty() ? std::string() : a.redirect_uris[0]},
    {"redirect_uris", a.redirect_uris},
    {"scopes", a.scopes},
  };
  if (with_secret) {
    j["client_id"] = a.client_id;
    j["client_secret"] = a.client_secret;
    j["client_secret_expires_at"] = 0;
  }
  return j;
}

} // namespace

nlohmann::json token_json(const actors::token_issued& t) {
  return {{"access_token", t.access_token},
          {"token_type", "Bearer"},
          {"scope", scopes::join(t.scopes)},
          {"created_at", t.created_at}};
}

handler_fn create_app(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    auto body = read_body(req, res);
    if (!body)
      return;
    std::optional<std::string> name, website, scope_text;
    std::vector<std::string> redirect_uris;
    if (!get_string(*body, "client_name", name, res) || !get_string(*body, "website", website, res) ||
        !get_string(*body, "scopes", scope_text, res) || !get_string_list(*body, "redirect_uris", redirect_uris, res))
      return;
    if (!name || name->empty() || name->size() > 200)
      return res.fail(errc::unprocessable, "Validation failed", "'client_name' is required (at most 200 characters)");
    if (redirect_uris.empty())
      return res.fail(errc::unprocessable, "Validation failed", "'redirect_uris' is required");
    for (auto& u : redirect_uris)
      if (u != "urn:ietf:wg:oauth:2.0:oob" && u.find("://") == std::string::npos)
        return res.fail(errc::unprocessable, "Validation failed", "'redirect_uris' must be absolute URIs");
    auto parsed = scopes::parse(scope_text.value_or(""));
    if (!parsed)
      return res.fail(errc::unprocessable, "Validation failed", "'scopes' contains an unknown scope");
    actors::app_spec spec{*name, website.value_or(""), redirect_uris, *parsed};
    ask(*svc.system, res, svc.oauth, milliseconds(svc.cfg->http.request_timeout_ms),
        [res](const actors::app_created& a) { res.json(200, app_json(a, true)); }, spec);
  };
}

handler_fn verify_app(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    authenticate(svc, req, res, "", who::any_token, [res](const actors::auth_context& ctx) {
      res.json(200, {{"id", std::to_string(ctx.app_id)}, {"scopes", ctx.scopes}});
    });
  };
}

handler_fn token(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    auto body = read_body(req, res);
    if (!body)
      return;
    actors::token_grant g;
    g.grant_type = required(*body, "grant_type");
    g.client_id = required(*body, "client_id");
    g.client_secret = required(*body, "client_secret");
    if (g.grant_type.empty())
      return oauth_error(res, errc::bad_request, "invalid_request", "'grant_type' is required");
    if (g.grant_type != "password" && g.grant_type != "client_credentials")
      return oauth_error(res, errc::bad_request, "unsupported_grant_type",
                         "supported grant types: password, client_credentials");
    if (g.client_id.empty() || g.client_secret.empty())
      return oauth_error(res, errc::unauthorized, "invalid_client", "'client_id' and 'client_secret' are required");
    auto scope_text = required(*body, "scope");
    if (!scope_text.empty()) {
      auto parsed = scopes::parse(scope_text);
      if (!parsed)
        return oauth_error(res, errc::bad_request, "invalid_scope", "unknown scope");
      g.scopes = *parsed;
    }
    if (g.grant_type == "password") {
      g.username = required(*body, "username");
      g.password = required(*body, "password");
      if (g.username.empty() || g.password.empty())
        return oauth_error(res, errc::bad_request, "invalid_request", "'username' and 'password' are required");
    }
    ask_with(
      *svc.system, svc.oauth, milliseconds(svc.cfg->http.request_timeout_ms),
      [res](const actors::token_issued& t) { res.json(200, token_json(t)); },
      [res](caf::error& err) { oauth_fail(res, err); }, g);
  };
}

handler_fn revoke(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    auto body = read_body(req, res);
    if (!body)
      return;
    actors::token_revoke r{required(*body, "client_id"), required(*body, "client_secret"), required(*body, "token")};
    if (r.client_id.empty() || r.client_secret.empty() || r.token.empty())
      return oauth_error(res, errc::bad_request, "invalid_request",
                         "'client_id', 'client_secret' and 'token' are required");
    ask_with(
      *svc.system, svc.oauth, milliseconds(svc.cfg->http.request_timeout_ms),
      [res](actors::ok_atom) { res.json(200, nlohmann::json::object()); },
      [res](caf::error& err) { oauth_fail(res, err); }, r);
  };
}

} // namespace chorus::http::handlers
