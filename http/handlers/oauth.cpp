// POST /api/v1/apps, GET /api/v1/apps/verify_credentials, POST /oauth/token, POST /oauth/revoke.
#include "actors/protocol/errors.hpp"
#include "common/config.hpp"
#include "common/scopes.hpp"
#include "common/text.hpp"
#include "http/ask.hpp"
#include "http/auth.hpp"
#include "http/dto/body.hpp"
#include "http/dto/limits.hpp"
#include "http/error_mapping.hpp"
#include "http/handlers/handlers.hpp"

#include <nlohmann/json.hpp>

namespace chorus::http::handlers {

using namespace std::chrono;
using text::html_escape;
using text::url_encode;

namespace {

// RFC 6749 error body. Actor errors carry "code: description".
void oauth_fail(const responder& res, const caf::error& err) {
  auto code = actors::code_of(err);
  auto desc = actors::description_of(err);
  auto colon = desc.find(": ");
  static const char* known[] = {"invalid_client", "invalid_grant", "invalid_scope", "unauthorized_client",
                                "unsupported_grant_type", "invalid_request", "access_denied"};
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
    if (!name || name->find_first_not_of(" \t\r\n") == std::string::npos || text::code_points(*name) > limits::app_name)
      return res.fail(errc::unprocessable, "Validation failed",
                      "'client_name' is required (at most " + std::to_string(limits::app_name) + " characters)");
    if (website && website->empty())
      website.reset();
    if (website && (text::code_points(*website) > limits::app_website ||
                    !(website->rfind("https://", 0) == 0 || website->rfind("http://", 0) == 0) ||
                    website->find_first_of(" \t\r\n") != std::string::npos))
      return res.fail(errc::unprocessable, "Validation failed",
                      "'website' must be an http(s) URL of at most " + std::to_string(limits::app_website) +
                        " characters");
    if (redirect_uris.empty())
      return res.fail(errc::unprocessable, "Validation failed", "'redirect_uris' is required");
    if (redirect_uris.size() > limits::redirect_uris)
      return res.fail(errc::unprocessable, "Validation failed",
                      "'redirect_uris' holds at most " + std::to_string(limits::redirect_uris) + " URIs");
    for (auto& u : redirect_uris) {
      if (u != "urn:ietf:wg:oauth:2.0:oob" && u.find("://") == std::string::npos)
        return res.fail(errc::unprocessable, "Validation failed", "'redirect_uris' must be absolute URIs");
      if (text::code_points(u) > limits::redirect_uri || u.find_first_of(" \t\r\n") != std::string::npos)
        return res.fail(errc::unprocessable, "Validation failed",
                        "each redirect URI is at most " + std::to_string(limits::redirect_uri) +
                          " characters, without spaces");
    }
    if (scope_text && scope_text->size() > limits::scopes_text)
      return res.fail(errc::unprocessable, "Validation failed", "'scopes' contains an unknown scope");
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
    // Mastodon's Application entity (what clients read after registering): the
    // app as registered, with the scopes of this token; never the secrets.
    authenticate(svc, req, res, "", who::any_token, [svc, res](const actors::auth_context& ctx) {
      ask(*svc.system, res, svc.oauth, milliseconds(svc.cfg->http.request_timeout_ms),
          [res, token_scopes = ctx.scopes](const actors::app_created& a) {
            auto j = app_json(a, false);
            j["scopes"] = token_scopes;
            res.json(200, j);
          },
          actors::app_query{ctx.app_id});
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
    if (g.grant_type != "password" && g.grant_type != "client_credentials" && g.grant_type != "authorization_code")
      return oauth_error(res, errc::bad_request, "unsupported_grant_type",
                         "supported grant types: authorization_code, password, client_credentials");
    if (g.client_id.empty() || g.client_secret.empty())
      return oauth_error(res, errc::unauthorized, "invalid_client", "'client_id' and 'client_secret' are required");
    if (g.client_id.size() > limits::oauth_secret_bytes || g.client_secret.size() > limits::oauth_secret_bytes)
      return oauth_error(res, errc::unauthorized, "invalid_client", "client authentication failed");
    auto scope_text = required(*body, "scope");
    if (!scope_text.empty()) {
      auto parsed = scopes::parse(scope_text);
      if (!parsed)
        return oauth_error(res, errc::bad_request, "invalid_scope", "unknown scope");
      g.scopes = *parsed;
    }
    if (g.grant_type == "authorization_code") {
      g.code = required(*body, "code");
      g.redirect_uri = required(*body, "redirect_uri");
      if (g.code.empty() || g.redirect_uri.empty())
        return oauth_error(res, errc::bad_request, "invalid_request", "'code' and 'redirect_uri' are required");
      if (g.code.size() > limits::oauth_secret_bytes || g.redirect_uri.size() > limits::redirect_uri * 4)
        return oauth_error(res, errc::bad_request, "invalid_grant", "the authorization code is invalid");
    }
    if (g.grant_type == "password") {
      g.username = required(*body, "username");
      g.password = required(*body, "password");
      if (g.username.empty() || g.password.empty())
        return oauth_error(res, errc::bad_request, "invalid_request", "'username' and 'password' are required");
      if (g.username.size() > limits::email_bytes || g.password.size() > limits::password_bytes_login)
        return oauth_error(res, errc::bad_request, "invalid_grant", "the username or password is wrong");
    }
    ask_with(*svc.system, res, svc.oauth, milliseconds(svc.cfg->http.request_timeout_ms),
      [res](const actors::token_issued& t) {
        response r;
        r.body = token_json(t).dump();
        r.headers.emplace_back("Cache-Control", "no-store");
        res.send(std::move(r));
      },
      [res](caf::error& err) { oauth_fail(res, err); }, g);
  };
}

namespace {

response html(int status, const std::string& title, const std::string& body) {
  response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.body = "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
           "content=\"width=device-width\"><title>" +
           html_escape(title) + "</title></head><body>" + body + "</body></html>";
  return r;
}

struct authorize_params {
  actors::authorize_check what;
  std::string scope_text;
  std::string state;
  std::string response_type;
};

bool read_authorize_params(const std::map<std::string, std::string>& q, authorize_params& p, const responder& res) {
  auto get = [&](const char* k) {
    auto it = q.find(k);
    return it == q.end() ? std::string() : it->second;
  };
  p.response_type = get("response_type");
  p.what.client_id = get("client_id");
  p.what.redirect_uri = get("redirect_uri");
  p.scope_text = get("scope");
  p.state = get("state");
  if (p.response_type != "code") {
    oauth_error(res, errc::bad_request, "unsupported_response_type", "response_type must be 'code'");
    return false;
  }
  if (p.what.client_id.empty() || p.what.redirect_uri.empty()) {
    oauth_error(res, errc::bad_request, "invalid_request", "'client_id' and 'redirect_uri' are required");
    return false;
  }
  if (p.what.client_id.size() > limits::oauth_secret_bytes || p.what.redirect_uri.size() > limits::redirect_uri * 4 ||
      p.scope_text.size() > limits::scopes_text || p.state.size() > limits::redirect_uri) {
    oauth_error(res, errc::bad_request, "invalid_request", "a parameter is too long");
    return false;
  }
  if (!p.scope_text.empty()) {
    auto parsed = scopes::parse(p.scope_text);
    if (!parsed) {
      oauth_error(res, errc::bad_request, "invalid_scope", "unknown scope");
      return false;
    }
    p.what.scopes = *parsed;
  }
  return true;
}

std::string authorize_form(const authorize_params& p, const actors::authorization& a, const std::string& error) {
  auto hidden = [](const char* name, const std::string& v) {
    return std::string("<input type=\"hidden\" name=\"") + name + "\" value=\"" + html_escape(v) + "\">";
  };
  std::string body = "<h1>Authorize " + html_escape(a.app_name) + "</h1>";
  body += "<p>" + html_escape(a.app_name) + " asks for: <code>" + html_escape(scopes::join(a.scopes)) + "</code></p>";
  if (!error.empty())
    body += "<p role=\"alert\">" + html_escape(error) + "</p>";
  body += "<form method=\"post\" action=\"/oauth/authorize\">" + hidden("response_type", "code") +
          hidden("client_id", p.what.client_id) + hidden("redirect_uri", p.what.redirect_uri) +
          hidden("scope", scopes::join(a.scopes)) + hidden("state", p.state) +
          "<p><label>E-mail or username <input name=\"username\" autocomplete=\"username\" required></label></p>"
          "<p><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" "
          "required></label></p><p><button type=\"submit\">Authorize</button></p></form>";
  return body;
}

} // namespace

handler_fn authorize_page(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    authorize_params p;
    if (!read_authorize_params(req.query(), p, res))
      return;
    ask_with(*svc.system, res, svc.oauth, milliseconds(svc.cfg->http.request_timeout_ms),
      [res, p](const actors::authorization& a) { res.send(html(200, "Authorize " + a.app_name, authorize_form(p, a, ""))); },
      [res](caf::error& err) { oauth_fail(res, err); }, p.what);
  };
}

handler_fn authorize_submit(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    auto body = read_body(req, res);
    if (!body)
      return;
    std::map<std::string, std::string> fields;
    for (auto it = body->begin(); it != body->end(); ++it)
      if (it->is_string())
        fields[it.key()] = it->get<std::string>();
    authorize_params p;
    if (!read_authorize_params(fields, p, res))
      return;
    if (fields["username"].size() > limits::email_bytes || fields["password"].size() > limits::password_bytes_login)
      return oauth_error(res, errc::bad_request, "invalid_request", "the username or password is too long");
    actors::authorize_request ar{p.what, fields["username"], fields["password"]};
    ask_with(*svc.system, res, svc.oauth, milliseconds(svc.cfg->http.request_timeout_ms),
      [res, p](const actors::authorization& a) {
        if (p.what.redirect_uri == "urn:ietf:wg:oauth:2.0:oob")
          return res.send(html(200, "Authorization code",
                               "<h1>Authorization code</h1><p>Copy this code into " + html_escape(a.app_name) +
                                 ":</p><p><code id=\"code\">" + html_escape(a.code) + "</code></p>"));
        auto location = p.what.redirect_uri;
        location += location.find('?') == std::string::npos ? '?' : '&';
        location += "code=" + url_encode(a.code);
        if (!p.state.empty())
          location += "&state=" + url_encode(p.state);
        response r;
        r.status = 302;
        r.content_type = "text/plain; charset=utf-8";
        r.headers.emplace_back("Location", location);
        r.headers.emplace_back("Cache-Control", "no-store");
        res.send(std::move(r));
      },
      [res, p, svc](caf::error& err) {
        if (actors::code_of(err) != errc::unauthorized)
          return oauth_fail(res, err);
        // Wrong credentials: show the form again with the message.
        ask_with(*svc.system, res, svc.oauth, milliseconds(svc.cfg->http.request_timeout_ms),
          [res, p](const actors::authorization& a) {
            res.send(html(401, "Authorize " + a.app_name, authorize_form(p, a, "The username or password is wrong.")));
          },
          [res](caf::error& e) { oauth_fail(res, e); }, p.what);
      },
      ar);
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
    if (r.client_id.size() > limits::oauth_secret_bytes || r.client_secret.size() > limits::oauth_secret_bytes)
      return oauth_error(res, errc::unauthorized, "invalid_client", "client authentication failed");
    if (r.token.size() > limits::oauth_secret_bytes)
      return res.json(200, nlohmann::json::object());  // RFC 7009 2.2: an unknown token is revoked already
    ask_with(*svc.system, res, svc.oauth, milliseconds(svc.cfg->http.request_timeout_ms),
      [res](actors::ok_atom) { res.json(200, nlohmann::json::object()); },
      [res](caf::error& err) { oauth_fail(res, err); }, r);
  };
}

} // namespace chorus::http::handlers
