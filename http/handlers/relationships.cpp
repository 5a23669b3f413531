// Follows, follow requests, blocks, mutes and the account lists they make.
#include "actors/protocol/errors.hpp"
#include "common/config.hpp"
#include "http/ask.hpp"
#include "http/auth.hpp"
#include "http/dto/account.hpp"
#include "http/dto/body.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/pagination.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace chorus::http::handlers {

using namespace std::chrono;

namespace {

nlohmann::json relationship_json(const storage::pg::relationship_row& r) {
  return {{"id", std::to_string(r.id)},
          {"following", r.following},
          {"showing_reblogs", r.showing_reblogs},
          {"notifying", r.notifying},
          {"followed_by", r.followed_by},
          {"blocking", r.blocking},
          {"blocked_by", r.blocked_by},
          {"muting", r.muting},
          {"muting_notifications", r.muting_notifications},
          {"requested", r.requested},
          {"requested_by", r.requested_by},
          {"domain_blocking", false},
          {"endorsed", false},
          {"note", ""}};
}

} // namespace

handler_fn relation_change(const actors::services& svc, actors::relation_verb verb, std::string scope) {
  return [svc, verb, scope](request& incoming, const responder& res) {
    account_id target;
    if (!parse_id(incoming.params["id"], target))
      return res.fail(errc::not_found, "Record not found");
    authenticate(svc, incoming, res, scope, who::user, [svc, res, verb, target, req = incoming](const actors::auth_context& ctx) {
      auto body = read_body(req, res);
      if (!body)
        return;
      actors::relation_change ch;
      ch.me = ctx.account_id;
      ch.target = target;
      ch.verb = verb;
      std::optional<bool> reblogs, notify, notifications;
      if (!get_bool(*body, "reblogs", reblogs, res) || !get_bool(*body, "notify", notify, res) ||
          !get_bool(*body, "notifications", notifications, res))
        return;
      ch.reblogs = reblogs.value_or(true);
      ch.notify = notify.value_or(false);
      ch.mute_notifications = notifications.value_or(true);
      if (auto it = body->find("duration"); it != body->end() && !it->is_null()) {
        std::int64_t d = -1;
        if (it->is_number_integer())
          d = it->get<std::int64_t>();
        else if (it->is_string() && !parse_id(it->get<std::string>(), d) && it->get<std::string>() == "0")
          d = 0;
        if (d < 0 || d > 10LL * 365 * 24 * 3600)
          return res.fail(errc::unprocessable, "Validation failed", "'duration' must be a number of seconds");
        ch.mute_seconds = d;
      }
      ask(*svc.system, res, svc.relationships, timeout_of(svc),
          [res](const storage::pg::relationship_row& r) { res.json(200, relationship_json(r)); }, ch);
    });
  };
}

handler_fn relationships(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    authenticate(svc, req, res, "read:follows", who::user, [svc, res, req](const actors::auth_context& ctx) {
      actors::relations_query q;
      q.me = ctx.account_id;
      for (auto& [k, v] : req.query_all())
        if (k == "id[]" || k == "id") {
          account_id id;
          if (parse_id(v, id) && q.ids.size() < 100)
            q.ids.push_back(id);
        }
      ask(*svc.system, res, svc.relationships, timeout_of(svc),
          [res](const actors::relationship_list& l) {
            nlohmann::json out = nlohmann::json::array();
            for (auto& r : l.items)
              out.push_back(relationship_json(r));
            res.json(200, out);
          },
          q);
    });
  };
}

handler_fn account_people(const actors::services& svc, storage::pg::people_kind kind) {
  return [svc, kind](request& req, const responder& res) {
    account_id id;
    if (!parse_id(req.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    actors::people_list_query q{kind, account_id{}, id, read_page(req, 40, 80)};
    ask(*svc.system, res, svc.relationships, timeout_of(svc),
        [svc, res, req](const actors::account_list& l) { send_account_list(res, svc, req, l); }, q);
  };
}

handler_fn own_people(const actors::services& svc, storage::pg::people_kind kind, std::string scope) {
  return [svc, kind, scope](request& req, const responder& res) {
    authenticate(svc, req, res, scope, who::user, [svc, res, req, kind](const actors::auth_context& ctx) {
      actors::people_list_query q{kind, ctx.account_id, ctx.account_id, read_page(req, 40, 80)};
      ask(*svc.system, res, svc.relationships, timeout_of(svc),
          [svc, res, req](const actors::account_list& l) { send_account_list(res, svc, req, l); }, q);
    });
  };
}

void send_account_list(const responder& res, const actors::services& svc, const request& req,
                       const actors::account_list& list) {
  nlohmann::json out = nlohmann::json::array();
  for (auto& a : list.accounts)
    out.push_back(account_json(a, svc.base_url));
  response r;
  r.body = out.dump();
  auto link = link_header(svc.base_url, req, list.newest_cursor, list.oldest_cursor);
  if (!link.empty())
    r.headers.emplace_back("Link", link);
  res.send(std::move(r));
}

} // namespace chorus::http::handlers
