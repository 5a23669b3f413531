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
#include "http/dto/limits.hpp"
#include "http/error_mapping.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"

namespace chorus::http::handlers {

using namespace std::chrono;

namespace {

// Mastodon's 422: {"error": "Validation failed: A, B", "details": {field: [{error, description}]}},
// every failing field at once, as Mastodon's model validation reports them.
struct field_errors {
  nlohmann::json details = nlohmann::json::object();
  std::string summary;
  void add(const char* field, const char* code, const std::string& text) {
    if (!details.contains(field))
      details[field] = nlohmann::json::array();
    details[field].push_back({{"error", code}, {"description", text}});
    summary += (summary.empty() ? "" : ", ") + text;
  }
  bool empty() const { return summary.empty(); }
  void send(const responder& res) const {
    auto r = error_response(errc::unprocessable, "Validation failed: " + summary);
    auto body = nlohmann::json::parse(r.body);
    body["details"] = details;
    r.body = body.dump();
    res.send(std::move(r));
  }
};

void field_error(const responder& res, const char* field, const char* code, const std::string& text) {
  field_errors e;
  e.add(field, code, text);
  e.send(res);
}

// A string field of a registration: absent → nullopt; not a string → a detail.
std::optional<std::string> string_field(const nlohmann::json& body, const char* key, field_errors& errors) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    return std::nullopt;
  if (!it->is_string()) {
    errors.add(key, "ERR_INVALID", std::string(key) + " must be a string");
    return std::string();
  }
  return it->get<std::string>();
}

bool valid_username(const std::string& u) {
  if (u.empty() || u.size() > limits::username)
    return false;
  for (unsigned char c : u)
    if (!(std::isalnum(c) || c == '_'))
      return false;
  return true;
}

bool valid_email(const std::string& e) {
  auto at = e.find('@');
  return e.size() <= limits::email_bytes && at != std::string::npos && at > 0 && e.find('.', at) != std::string::npos &&
         e.find(' ') == std::string::npos && e.back() != '.';
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
    field_errors errors;
    auto username = string_field(*body, "username", errors);
    auto email = string_field(*body, "email", errors);
    auto password = string_field(*body, "password", errors);
    auto locale = string_field(*body, "locale", errors);
    std::optional<bool> agreement;
    if (auto it = body->find("agreement"); it != body->end() && !it->is_null()) {
      if (it->is_boolean())
        agreement = it->get<bool>();
      else if (it->is_string())
        agreement = it->get<std::string>() == "true" || it->get<std::string>() == "1" || it->get<std::string>() == "on";
      else
        agreement = false;
    }
    if (!username || username->empty())
      errors.add("username", "ERR_BLANK", "Username can't be blank");
    else if (!valid_username(*username))
      errors.add("username", "ERR_INVALID", "Username must be 1 to 30 letters, digits or underscores");
    if (!email || email->empty())
      errors.add("email", "ERR_BLANK", "Email can't be blank");
    else if (!valid_email(*email))
      errors.add("email", "ERR_INVALID", "Email is not a valid address");
    if (!password || password->empty())
      errors.add("password", "ERR_BLANK", "Password can't be blank");
    else if (password->size() < limits::password_min)
      errors.add("password", "ERR_TOO_SHORT", "Password is too short (minimum is 8 characters)");
    else if (password->size() > limits::password_max)
      errors.add("password", "ERR_TOO_LONG", "Password is too long (maximum is 72 characters)");
    if (locale && !locale->empty() && !text::valid_language_tag(*locale, limits::locale_bytes))
      errors.add("locale", "ERR_INCLUSION", "Locale is not a supported language tag");
    if (!agreement || !*agreement)
      errors.add("agreement", "ERR_ACCEPTED", "Agreement must be accepted");
    if (!errors.empty())
      return errors.send(res);
    auto reg = std::make_shared<actors::registration>();
    reg->username = *username;
    reg->email = *email;
    reg->password = *password;
    reg->locale = locale && !locale->empty() ? *locale : std::string("en");
    reg->app = ctx;
    {
      ask_with(*svc.system, res, svc.accounts, timeout_of(svc),
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
                   field_errors errors;
                   if (u.display_name && text::code_points(*u.display_name) > limits::display_name)
                     errors.add("display_name", "ERR_TOO_LONG", "Display name is too long (maximum is 30 characters)");
                   if (u.note && text::code_points(*u.note) > limits::note)
                     errors.add("note", "ERR_TOO_LONG", "Note is too long (maximum is 500 characters)");
                   if (!errors.empty())
                     return errors.send(res);
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
        actors::account_query{account_id{}, acct});
  };
}

handler_fn get_account(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    account_id id;
    if (!parse_id(req.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    ask(
        *svc.system, res, svc.accounts, timeout_of(svc),
        [res, base = svc.base_url](const storage::pg::account_row& a) { res.json(200, account_json(a, base)); },
        actors::account_query{id, {}});
  };
}

} // namespace chorus::http::handlers
