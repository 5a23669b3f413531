#pragma once
// Bearer-token authentication for handlers: resolves the token through the OAuth
// actor (cached per node), checks the scope, then continues with the context.
// Answers itself when it cannot continue: 401 (no/invalid token), 403 (scope),
// 422 (an app token where a user is required), as Mastodon does.
#include "actors/system/services.hpp"
#include "http/ask.hpp"
#include "http/responder.hpp"
#include "http/types.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <chrono>

#include <functional>
#include <optional>
#include <string>

namespace chorus::http {

enum class who { any_token, user };


void authenticate(const actors::services& svc, const request& req, const responder& res, std::string scope,
                  who required, std::function<void(const actors::auth_context&)> next);

// As authenticate, but a request without Authorization continues anonymously
// (viewer 0); a token that is present must be valid and carry `scope`.
void authenticate_optional(const actors::services& svc, const request& req, const responder& res, std::string scope,
                           std::function<void(const actors::auth_context&)> next);

// The token from `Authorization: Bearer …`, or "" when absent.
std::string bearer_token(const request& req);

// The context of a token this node resolved recently (the oauth actor's cache).
std::optional<actors::auth_context> cached_context(const actors::services& svc, const std::string& token);

// True if the context may go on (scope, user); otherwise answers through `res`.
bool admit(const actors::auth_context& ctx, const std::string& scope, who required, const responder& res);

// authenticate + ask in one short-lived bridge actor (one spawn, not two) for
// hot read paths: resolves the token, checks it, sends `make(ctx)` to `dest`
// and hands the reply to `on_ok`.
template <class Dest, class Make, class OnOk>
void authenticated_ask(const actors::services& svc, const request& req, const responder& res, std::string scope,
                       who required, const Dest& dest, Make make, OnOk on_ok) {
  auto token = bearer_token(req);
  if (token.empty() || token.size() > 512)
    return res.fail(errc::unauthorized, "The access token is invalid");
  auto timeout = std::chrono::milliseconds(svc.cfg->http.request_timeout_ms);
  if (auto ctx = cached_context(svc, token)) {  // known token: no round trip to the oauth actor
    if (!admit(*ctx, scope, required, res))
      return;
    svc.system->spawn([=](caf::event_based_actor* self) mutable {
      self->request(dest, timeout, make(*ctx))
        .then(detail::hop_to_strand(res, std::move(on_ok)), [res](caf::error& err) { res.fail(err); });
    });
    return;
  }
  svc.system->spawn([=](caf::event_based_actor* self) mutable {
    auto fail = [res](caf::error& err) { res.fail(err); };
    self->request(svc.oauth, timeout, actors::bearer{token})
      .then(
        [=](const actors::auth_context& ctx) mutable {
          if (!admit(ctx, scope, required, res))
            return;
          self->request(dest, timeout, make(ctx)).then(detail::hop_to_strand(res, std::move(on_ok)), fail);
        },
        fail);
  });
}

} // namespace chorus::http
