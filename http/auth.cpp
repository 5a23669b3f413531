#include "http/auth.hpp"

#include "actors/accounts/token_cache.hpp"
#include "common/config.hpp"
#include "common/crypto.hpp"
#include "common/scopes.hpp"
#include "http/ask.hpp"

namespace chorus::http {

std::string bearer_token(const request& req) {
  auto h = req.header("authorization");
  if (!h || h->size() <= 7)
    return {};
  auto scheme = std::string(h->substr(0, 7));
  for (auto& c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ")
    return {};
  auto token = std::string(h->substr(7));
  while (!token.empty() && token.front() == ' ')
    token.erase(token.begin());
  return token;
}

std::optional<actors::auth_context> cached_context(const actors::services& svc, const std::string& token) {
  if (!svc.tokens)
    return std::nullopt;
  return svc.tokens->find(crypto::sha256_hex(token));
}

bool admit(const actors::auth_context& ctx, const std::string& scope, who required, const responder& res) {
  if (!scope.empty() && !scopes::allows(ctx.scopes, scope))
    return res.fail(errc::forbidden, "This action is outside the authorized scopes"), false;
  if (required == who::user && ctx.account_id == 0)
    return res.fail(errc::unprocessable, "This method requires an authenticated user"), false;
  return true;
}

void authenticate(const actors::services& svc, const request& req, const responder& res, std::string scope,
                  who required, std::function<void(const actors::auth_context&)> next) {
  auto token = bearer_token(req);
  if (token.empty() || token.size() > 512)
    return res.fail(errc::unauthorized, "The access token is invalid");
  if (auto ctx = cached_context(svc, token)) {
    if (admit(*ctx, scope, required, res))
      next(*ctx);
    return;
  }
  ask(*svc.system, res, svc.oauth, std::chrono::milliseconds(svc.cfg->http.request_timeout_ms),
      [res, scope, required, next](const actors::auth_context& ctx) {
        if (admit(ctx, scope, required, res))
          next(ctx);
      },
      actors::bearer{token});
}

void authenticate_optional(const actors::services& svc, const request& req, const responder& res, std::string scope,
                           std::function<void(const actors::auth_context&)> next) {
  if (!req.header("authorization"))
    return next(actors::auth_context{});
  authenticate(svc, req, res, std::move(scope), who::any_token, std::move(next));
}

} // namespace chorus::http
