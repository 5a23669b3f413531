// POST /api/v1/accounts, GET verify_credentials, PATCH update_credentials,
// GET /api/v1/accounts/lookup, GET /api/v1/accounts/:id.
#include <charconv>
#include <nlohmann/json.hpp>

#include "actors/protocol/errors.hpp"
#include "common/config.hpp"
#include "common/text.hpp"
#include "http/ask.hpp"
#include "http/auth.hpp"
#include "http/dto/account.hpp"
#include "http/dto/body.hpp"
#include "http/error_mapping.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"

namespace chorus::http::handlers {

using namespace std::chrono;

namespace {

// Mastodon's 422: {"error": "Validation failed: …", "details": {field: [{error, description}]}}
void field_error(const responder& res, const char* field, const char* code, const std::string& text) {
  auto r = error_response(errc::unprocessable, std::string("Validation failed: ") + text);
  auto body = nlohmann::json::parse(r.body);
  body["details"] = {{field, nlohmann::json::array({{{"error", code}, {"description", text}}})}};
  r.body = body.dump();
  res.send(std::move(r));
}

bool valid_username(const std::string& u) {
  if (u.empty() || u.size() > 30)
    return false;
  for (unsigned char c : u)
    if (!(std::isalnum(c) || c == '_'))
      return false;
  return true;
}

bool valid_email(const std::string& e) {
  auto at = e.find('@');
  return e.size() <= 254 && at != std::string::npos && at > 0 && e.find('.', at) != std::string::npos &&
         e.find(' ') == std::string::npos && e.back() != '.';
}

std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

void register_with(const actors::services& svc, const request& req, const responder& res,
                   const actors::auth_context& ctx);

} // namespace

handler_fn register_account(const actors::services& svc) {
  return [svc](request& incoming, const responder& res) {
    // Credentials first (401/403 before any validation), as Mastodon does.
    authenticate(svc, incoming, res, "write:accounts", who::any_token,
                 [svc, res, req = incoming](const actors::auth_context& ctx) { register_with(svc, req, res, ctx); });
  };
}

namespace {
void register_with(const actors::services& svc, const request& req, const responder& res,
                   const actors::auth_context& ctx) {
  {
    auto body = read_body(req, res);
    if (!body)
      return;
    std::optional<std::string> username, email, password, locale;
    std::optional<bool> agreement;
    if (!get_string(*body, "username", username, res) || !get_string(*body, "email", email, res) ||
        !get_string(*body, "password", password, res) || !get_string(*body, "locale", locale, res) ||
        !get_bool(*body, "agreement", agreement, res))
      return;
    if (!username || !valid_username(*username))
      return field_error(res, "username", "ERR_INVALID", "Username must be 1 to 30 letters, digits or underscores");
    if (!email || !valid_email(*email))
      return field_error(res, "email", "ERR_INVALID", "Email is not a valid address");
    if (!password || password->size() < 8 || password->size() > 72)
      return field_error(res, "password", "ERR_INVALID", "Password must be 8 to 72 characters");
    if (!agreement || !*agreement)
      return field_error(res, "agreement", "ERR_ACCEPTED", "Agreement must be accepted");
    auto reg = std::make_shared<actors::registration>();
    reg->username = *username;
    reg->email = *email;
    reg->password = *password;
    reg->locale = locale.value_or("en");
    reg->app = ctx;
    {
      ask_with(
          *svc.system, svc.accounts, timeout_of(svc),
          [res](const actors::token_issued& t) { res.json(200, token_json(t)); },
          [res](caf::error& err) {
            auto code = actors::code_of(err);
            auto desc = actors::description_of(err);
            if (code == errc::unprocessable && desc.rfind("username", 0) == 0)
              return field_error(res, "username", "ERR_TAKEN", "Username is already taken");
            if (code == errc::unprocessable && desc.rfind("email", 0) == 0)
              return field_error(res, "email", "ERR_TAKEN", "Email is already taken");
            res.fail(err);
          },
          *reg);
    }
  }
}
} // namespace

handler_fn verify_credentials(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    authenticate(svc, req, res, "read:accounts", who::user, [svc, res](const actors::auth_context& ctx) {
      ask(
          *svc.system, res, svc.accounts, timeout_of(svc),
          [res, base = svc.base_url](const storage::pg::account_row& a) {
            res.json(200, credential_account_json(a, base));
          },
          actors::account_query{ctx.account_id, {}, true});
    });
  };
}

handler_fn update_credentials(const actors::services& svc) {
  return [svc](request& incoming, const responder& res) {
    authenticate(svc, incoming, res, "write:accounts", who::user,
                 [svc, res, req = incoming](const actors::auth_context& ctx) {
                   auto body = read_body(req, res);
                   if (!body)
                     return;
                   storage::pg::account_update u;
                   if (!get_string(*body, "display_name", u.display_name, res) ||
                       !get_string(*body, "note", u.note, res) || !get_bool(*body, "locked", u.locked, res) ||
                       !get_bool(*body, "bot", u.bot, res) || !get_bool(*body, "discoverable", u.discoverable, res))
                     return;
                   if (u.display_name && utf8_length(*u.display_name) > 30)
                     return field_error(res, "display_name", "ERR_TOO_LONG", "Display name is at most 30 characters");
                   if (u.note && utf8_length(*u.note) > 500)
                     return field_error(res, "note", "ERR_TOO_LONG", "Note is at most 500 characters");
                   ask(
                       *svc.system, res, svc.accounts, timeout_of(svc),
                       [res, base = svc.base_url](const storage::pg::account_row& a) {
                         res.json(200, credential_account_json(a, base));
                       },
                       actors::credentials_update{ctx.account_id, u});
                 });
  };
}

handler_fn lookup_account(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    auto q = req.query();
    auto acct = q["acct"];
    if (!acct.empty() && acct[0] == '@')
      acct.erase(0, 1);
    // Local accounts only: "user" or "user@<our host>" are the same account.
    auto at = acct.find('@');
    if (at != std::string::npos) {
      auto domain = acct.substr(at + 1);
      auto base = svc.base_url.substr(svc.base_url.find("://") == std::string::npos ? 0 : svc.base_url.find("://") + 3);
      if (text::lower(domain) != text::lower(base))
        return res.fail(errc::not_found, "Record not found");
      acct = acct.substr(0, at);
    }
    if (!valid_username(acct))
      return res.fail(errc::not_found, "Record not found");
    ask(
        *svc.system, res, svc.accounts, timeout_of(svc),
        [res, base = svc.base_url](const storage::pg::account_row& a) { res.json(200, account_json(a, base)); },
        actors::account_query{0, acct});
  };
}

handler_fn get_account(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    std::int64_t id = 0;
    if (!parse_id(req.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    ask(
        *svc.system, res, svc.accounts, timeout_of(svc),
        [res, base = svc.base_url](const storage::pg::account_row& a) { res.json(200, account_json(a, base)); },
        actors::account_query{id, {}});
  };
}

} // namespace chorus::http::handlers
