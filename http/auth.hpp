#pragma once
// Bearer-token authentication for handlers: resolves the token through the OAuth
// actor (cached per node), checks the scope, then continues with the context.
// Answers itself when it cannot continue: 401 (no/invalid token), 403 (scope),
// 422 (an app token where a user is required), as Mastodon does.
#include "actors/system/services.hpp"
#include "http/responder.hpp"
#include "http/types.hpp"

#include <functional>
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

} // namespace chorus::http
