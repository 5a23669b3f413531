// Statuses, their interactions and timelines (Mastodon client API).
#include "actors/protocol/errors.hpp"
#include "common/config.hpp"
#include "common/text.hpp"
#include "http/ask.hpp"
#include "http/auth.hpp"
#include "http/dto/account.hpp"
#include "http/dto/body.hpp"
#include "http/dto/limits.hpp"
#include "http/dto/status.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/pagination.hpp"

#include <algorithm>
#include <caf/send.hpp>
#include <charconv>
#include <nlohmann/json.hpp>

namespace chorus::http::handlers {

using namespace std::chrono;

namespace {

// Sends a list of statuses with the Link header for the next/previous page.
void send_page(const responder& res, const actors::services& svc, const request& req, const actors::status_view& v) {
  response r;
  if (v.body)
    r.shared_body = v.body;
  else
    r.body = statuses_json(v.bundle, svc.base_url).dump();
  auto link = link_header(svc.base_url, req, v.newest_cursor, v.oldest_cursor);
  if (!link.empty())
    r.headers.emplace_back("Link", link);
  res.send(std::move(r));
}

void send_one(const responder& res, const actors::services& svc, const actors::status_view& v, bool with_source = false) {
  if (v.bundle.statuses.empty())
    return res.fail(errc::not_found, "Record not found");
  res.json(200, status_json(v.bundle.statuses.front(), v.bundle, svc.base_url, with_source));
}

} // namespace

handler_fn create_status(const actors::services& svc) {
  return [svc](request& incoming, const responder& res) {
    authenticate(svc, incoming, res, "write:statuses", who::user, [svc, res, req = incoming](const actors::auth_context& ctx) {
      auto body = read_body(req, res);
      if (!body)
        return;
      std::optional<std::string> status, spoiler, visibility, language, reply_to;
      std::optional<bool> sensitive;
      std::vector<std::string> media_ids;
      if (!get_string(*body, "status", status, res) || !get_string(*body, "spoiler_text", spoiler, res) ||
          !get_string(*body, "visibility", visibility, res) || !get_string(*body, "language", language, res) ||
          !get_string(*body, "in_reply_to_id", reply_to, res) || !get_bool(*body, "sensitive", sensitive, res) ||
          !get_string_list(*body, "media_ids", media_ids, res))
        return;
      bool poll = false;
      for (auto it = body->begin(); it != body->end(); ++it)
        poll |= it.key().rfind("poll", 0) == 0;  // "poll" (JSON) or "poll[options]" (form)
      if (!media_ids.empty() || poll)
        return res.fail(errc::unprocessable, "Validation failed", "media attachments and polls are not supported yet");
      auto text_value = status.value_or("");
      bool blank = text_value.find_first_not_of(" \t\r\n") == std::string::npos;
      if (blank)
        return res.fail(errc::unprocessable, "Validation failed: Text can't be blank");
      auto max = static_cast<std::size_t>(svc.cfg->max_status_chars);
      if (text::counted_length(text_value) + text::counted_length(spoiler.value_or("")) > max)
        return res.fail(errc::unprocessable, "Validation failed: Text character limit of " + std::to_string(max) +
                                               " exceeded");
      storage::pg::new_status f;
      f.text = text_value;
      f.spoiler_text = spoiler.value_or("");
      f.sensitive = sensitive.value_or(false) || !f.spoiler_text.empty();
      f.language = language.value_or("");
      if (!f.language.empty() && !text::valid_language_tag(f.language, limits::language_bytes))
        return res.fail(errc::unprocessable, "Validation failed", "'language' must be an ISO 639 code");
      int vis = visibility_from_name(visibility.value_or("public"));
      if (vis < 0)
        return res.fail(errc::unprocessable, "Validation failed", "'visibility' must be public, unlisted, private or direct");
      f.visibility = static_cast<std::int16_t>(vis);
      if (reply_to && !reply_to->empty() && !parse_id(*reply_to, f.in_reply_to_id))
        return res.fail(errc::not_found, "Record not found", "in_reply_to_id does not exist");
      auto key = req.header("idempotency-key");
      if (key) {
        // Stored with the status: printable text only (header bytes are not checked at the edge).
        bool printable = std::none_of(key->begin(), key->end(), [](char c) {
          auto u = static_cast<unsigned char>(c);
          return u < 0x20 || u == 0x7f;
        });
        if (key->empty() || key->size() > limits::idempotency_key_bytes || !printable ||
            text::check_text(*key) != text::text_fault::none)
          return res.fail(errc::unprocessable, "Validation failed",
                          "Idempotency-Key must be 1 to 255 bytes of printable UTF-8 text");
        f.idempotency_key = std::string(*key);
      }
      ask(*svc.system, res, svc.statuses, timeout_of(svc),
          [svc, res](const actors::status_view& v) { send_one(res, svc, v); },
          actors::status_create{ctx, f, svc.base_url});
    });
  };
}

handler_fn get_status(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    status_id id;
    if (!parse_id(req.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    authenticate_optional(svc, req, res, "read:statuses", [svc, res, id](const actors::auth_context& ctx) {
      ask(*svc.system, res, svc.statuses, timeout_of(svc),
          [svc, res](const actors::status_view& v) { send_one(res, svc, v); }, actors::status_get{ctx.account_id, id});
    });
  };
}

handler_fn status_context(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    status_id id;
    if (!parse_id(req.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    authenticate_optional(svc, req, res, "read:statuses", [svc, res, id](const actors::auth_context& ctx) {
      ask(*svc.system, res, svc.statuses, timeout_of(svc),
          [svc, res](const actors::status_view& v) {
            res.json(200, {{"ancestors", statuses_json(v.bundle, svc.base_url, 0, v.split)},
                           {"descendants", statuses_json(v.bundle, svc.base_url, v.split)}});
          },
          actors::context_query{ctx.account_id, id});
    });
  };
}

handler_fn status_action(const actors::services& svc, actors::status_verb verb, std::string scope) {
  return [svc, verb, scope](request& incoming, const responder& res) {
    status_id id;
    if (!parse_id(incoming.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    authenticate(svc, incoming, res, scope, who::user, [svc, res, verb, id, req = incoming](const actors::auth_context& ctx) {
      actors::status_action a{ctx.account_id, id, verb, 0};
      if (verb == actors::status_verb::reblog) {
        auto body = read_body(req, res);
        if (!body)
          return;
        std::optional<std::string> visibility;
        if (!get_string(*body, "visibility", visibility, res))
          return;
        int vis = visibility_from_name(visibility.value_or("public"));
        if (vis < 0 || vis > 2)
          return res.fail(errc::unprocessable, "Validation failed", "'visibility' must be public, unlisted or private");
        a.visibility = static_cast<std::int16_t>(vis);
      }
      ask(*svc.system, res, svc.statuses, timeout_of(svc),
          [svc, res, verb](const actors::status_view& v) {
            send_one(res, svc, v, verb == actors::status_verb::remove);
          },
          a);
    });
  };
}

handler_fn status_people(const actors::services& svc, actors::status_people kind) {
  return [svc, kind](request& req, const responder& res) {
    status_id id;
    if (!parse_id(req.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    auto page = read_page(req, 40, 40);
    authenticate_optional(svc, req, res, "read:statuses", [svc, res, kind, id, page, req](const actors::auth_context& ctx) {
      ask(*svc.system, res, svc.statuses, timeout_of(svc),
          [svc, res, req](const actors::account_list& l) { send_account_list(res, svc, req, l); },
          actors::people_query{kind, ctx.account_id, id, page});
    });
  };
}

handler_fn public_timeline(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    // Every account is local (no federation): local=true changes nothing, remote=true is empty.
    auto remote = req.query()["remote"];
    if (remote == "true" || remote == "1") {
      response r;
      r.body = "[]";
      return res.send(std::move(r));
    }
    authenticate_optional(svc, req, res, "read:statuses", [svc, res, req](const actors::auth_context& ctx) {
      actors::timeline_query q;
      q.kind = actors::timeline_kind::public_;
      q.viewer = ctx.account_id;
      q.page = read_page(req);
      ask(*svc.system, res, svc.statuses, timeout_of(svc),
          [svc, res, req](const actors::status_view& v) { send_page(res, svc, req, v); }, q);
    });
  };
}

handler_fn tag_timeline(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    auto tag = text::lower(req.params["hashtag"]);
    if (tag.empty() || tag.size() > 100)
      return res.fail(errc::not_found, "Record not found");
    authenticate_optional(svc, req, res, "read:statuses", [svc, res, req, tag](const actors::auth_context& ctx) {
      actors::timeline_query q;
      q.kind = actors::timeline_kind::tag;
      q.viewer = ctx.account_id;
      q.tag = tag;
      q.page = read_page(req);
      ask(*svc.system, res, svc.statuses, timeout_of(svc),
          [svc, res, req](const actors::status_view& v) { send_page(res, svc, req, v); }, q);
    });
  };
}

handler_fn account_statuses(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    account_id id;
    if (!parse_id(req.params["id"], id))
      return res.fail(errc::not_found, "Record not found");
    authenticate_optional(svc, req, res, "read:statuses", [svc, res, req, id](const actors::auth_context& ctx) {
      auto q = req.query();
      auto flag = [&](const char* k) { return q.count(k) && (q[k] == "true" || q[k] == "1"); };
      actors::timeline_query tq;
      tq.kind = actors::timeline_kind::account;
      tq.viewer = ctx.account_id;
      tq.account = id;
      tq.page = read_page(req);
      tq.exclude_replies = flag("exclude_replies");
      tq.exclude_reblogs = flag("exclude_reblogs");
      bool empty_by_definition = flag("only_media") || flag("pinned");  // no media, no pinning yet
      ask(*svc.system, res, svc.accounts, timeout_of(svc),
          [svc, res, req, tq, empty_by_definition](const storage::pg::account_row&) {
            if (empty_by_definition) {
              response r;
              r.body = "[]";
              return res.send(std::move(r));
            }
            ask(*svc.system, res, svc.statuses, timeout_of(svc),
                [svc, res, req](const actors::status_view& v) { send_page(res, svc, req, v); }, tq);
          },
          actors::account_query{id, {}});
    });
  };
}

handler_fn own_list(const actors::services& svc, actors::timeline_kind kind, std::string scope) {
  return [svc, kind, scope](request& req, const responder& res) {
    authenticate(svc, req, res, scope, who::user, [svc, res, req, kind](const actors::auth_context& ctx) {
      actors::timeline_query q;
      q.kind = kind;
      q.viewer = ctx.account_id;
      q.page = read_page(req);
      ask(*svc.system, res, svc.statuses, timeout_of(svc),
          [svc, res, req](const actors::status_view& v) { send_page(res, svc, req, v); }, q);
    });
  };
}

// The hottest read. With a token this node knows, the request goes straight to
// the feeds with a callback (no bridge actor, no per-request CAF timeout: every
// step behind it has its own deadline); otherwise token check and feed request
// share one bridge actor.
handler_fn home_timeline(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    auto page = read_page(req);
    auto token = bearer_token(req);
    if (auto ctx = token.empty() ? std::nullopt : cached_context(svc, token)) {
      if (!admit(*ctx, "read:statuses", who::user, res))
        return;
      // Runs on the feed actor's thread: it captures only what it needs.
      auto reply = [res, prefix = link_prefix(svc.base_url, req), base = svc.base_url](const actors::status_view* v,
                                                                                     const caf::error* err) {
        if (!v)
          return res.fail(*err);
        response r;
        if (v->body)
          r.shared_body = v->body;
        else
          r.body = statuses_json(v->bundle, base).dump();
        auto link = link_header(prefix, v->newest_cursor, v->oldest_cursor);
        if (!link.empty())
          r.headers.emplace_back("Link", std::move(link));
        res.send(std::move(r));
      };
      caf::anon_send(svc.feeds, actors::home_request{actors::home_query{ctx->account_id, page}, reply});
      return;
    }
    authenticated_ask(
      svc, req, res, "read:statuses", who::user, svc.feeds,
      [page](const actors::auth_context& ctx) { return actors::home_query{ctx.account_id, page}; },
      [svc, res, req](const actors::status_view& v) { send_page(res, svc, req, v); });
  };
}

} // namespace chorus::http::handlers
