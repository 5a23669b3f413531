// The OAuth actor's decisions (declared in oauth_state.hpp).
#include "actors/accounts/oauth_state.hpp"

#include "actors/protocol/errors.hpp"
#include "common/crypto.hpp"
#include "common/scopes.hpp"

#include <algorithm>

namespace chorus::actors::oauth_rules {

namespace pg = storage::pg;

std::vector<std::string> app_scopes(const pg::app_row& app) {
  return scopes::parse(app.scopes).value_or(std::vector<std::string>{"read"});
}

bool client_authenticated(const std::optional<pg::app_row>& app, const std::string& secret_digest) {
  return app && crypto::equal(secret_digest, app->client_secret_hash);
}

caf::expected<std::vector<std::string>> grant_scopes(const std::optional<pg::app_row>& app, const token_grant& grant) {
  if (!client_authenticated(app, crypto::sha256_hex(grant.client_secret)))
    return make_error(errc::unauthorized, "invalid_client: client authentication failed");
  auto within = app_scopes(*app);
  auto wanted = grant.scopes.empty() ? within : grant.scopes;
  if (!scopes::subset(wanted, within))
    return make_error(errc::bad_request, "invalid_scope: the requested scope exceeds the application's scopes");
  return wanted;
}

caf::error check_login(const std::optional<pg::login_row>& login, bool password_ok) {
  if (!login || !password_ok)
    return make_error(errc::bad_request, "invalid_grant: the username or password is wrong");
  if (login->disabled)
    return make_error(errc::bad_request, "invalid_grant: this account is disabled");
  return {};
}

caf::expected<std::vector<std::string>> authorized_scopes(const std::optional<pg::app_row>& app,
                                                          const authorize_check& what) {
  if (!app)
    return make_error(errc::bad_request, "invalid_client: unknown client_id");
  auto& uris = app->redirect_uris;
  if (std::find(uris.begin(), uris.end(), what.redirect_uri) == uris.end())
    return make_error(errc::bad_request, "invalid_request: redirect_uri is not registered for this application");
  auto within = app_scopes(*app);
  auto granted = what.scopes.empty() ? within : what.scopes;
  if (!scopes::subset(granted, within))
    return make_error(errc::bad_request, "invalid_scope: the requested scope exceeds the application's scopes");
  return granted;
}

caf::error check_sign_in(const std::optional<pg::login_row>& login, bool password_ok) {
  if (!login || !password_ok || login->disabled)
    return make_error(errc::unauthorized, "access_denied: the username or password is wrong");
  return {};
}

caf::expected<auth_context> context_of(const std::optional<pg::token_row>& row) {
  if (!row || row->disabled)
    return make_error(errc::unauthorized, "The access token is invalid");
  return auth_context{row->id, row->app_id, row->account_id,
                      scopes::parse(row->scopes).value_or(std::vector<std::string>{}), row->admin};
}

app_created new_app(const app_spec& spec, app_id id, std::string client_id, std::string client_secret) {
  return app_created{id,           spec.name, spec.website, spec.redirect_uris, spec.scopes, std::move(client_id),
                     std::move(client_secret)};
}

pg::app_row stored_app(const app_created& app) {
  return pg::app_row{app.id,        app.name,      app.website, app.redirect_uris, scopes::join(app.scopes),
                     app.client_id, crypto::sha256_hex(app.client_secret)};
}

app_created public_app(const pg::app_row& row) {
  return app_created{row.id, row.name, row.website, row.redirect_uris, app_scopes(row), {}, {}};
}

} // namespace chorus::actors::oauth_rules
