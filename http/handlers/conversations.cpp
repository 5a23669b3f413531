// Direct-message conversations (Mastodon: /api/v1/conversations).
#include "common/config.hpp"
#include "http/ask.hpp"
#include "http/auth.hpp"
#include "http/dto/conversation.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/pagination.hpp"

#include <nlohmann/json.hpp>

namespace chorus::http::handlers {

handler_fn list_conversations(const actors::services& svc) {
  return [svc](request& incoming, const responder& res) {
    authenticate(svc, incoming, res, "read:statuses", who::user, [svc, res, req = incoming](const actors::auth_context& ctx) {
      actors::conversation_query q{ctx.account_id, read_page(req, 20, 40)};
      ask(*svc.system, res, svc.conversations, timeout_of(svc),
          [svc, res, req](const actors::conversation_view& v) {
            auto out = nlohmann::json::array();
            for (const auto& c : v.items)
              out.push_back(conversation_json(c, v.bundle, svc.base_url));
            response r;
            r.body = out.dump();
            auto link = link_header(svc.base_url, req, v.newest_cursor, v.oldest_cursor);
            if (!link.empty())
              r.headers.emplace_back("Link", std::move(link));
            res.send(std::move(r));
          },
          q);
    });
  };
}

handler_fn conversation_action(const actors::services& svc, actors::conversation_verb verb) {
  return [svc, verb](request& incoming, const responder& res) {
    conversation_id id;
    if (!parse_id(incoming.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    authenticate(svc, incoming, res, "write:conversations", who::user, [svc, res, verb, id](const actors::auth_context& ctx) {
      ask(*svc.system, res, svc.conversations, timeout_of(svc),
          [svc, res, verb](const actors::conversation_view& v) {
            if (verb == actors::conversation_verb::remove)
              return res.json(200, nlohmann::json::object());
            if (v.items.empty())
              return res.fail(errc::not_found, "Record not found");
            res.json(200, conversation_json(v.items.front(), v.bundle, svc.base_url));
          },
          actors::conversation_action{ctx.account_id, id, verb});
    });
  };
}

} // namespace chorus::http::handlers
