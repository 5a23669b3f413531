// Notifications (v1 and grouped v2), the notification policy, notification
// requests and markers (Mastodon client API). Every handler validates its input,
// then makes one round trip to the notifications actor.
#include "actors/protocol/errors.hpp"
#include "common/config.hpp"
#include "http/ask.hpp"
#include "http/auth.hpp"
#include "http/dto/account.hpp"
#include "http/dto/body.hpp"
#include "http/dto/notification.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/pagination.hpp"
#include "storage/pg/notifications.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace chorus::http::handlers {

namespace {

using actors::notification_op;
using actors::notification_query;
using actors::notification_view;

const char* read_scope = "read:notifications";
const char* write_scope = "write:notifications";

// Values of a list parameter: "key[]=a&key[]=b" (or repeated "key=").
std::vector<std::string> query_list(const request& req, const std::string& key) {
  std::vector<std::string> out;
  for (auto& [k, v] : req.query_all())
    if (k == key || k == key + "[]")
      out.push_back(v);
  return out;
}

// The type lists of a notifications request; false after answering 422 for a
// type Mastodon does not know.
bool read_types(const request& req, const responder& res, notification_query& q) {
  q.types = query_list(req, "types");
  q.exclude_types = query_list(req, "exclude_types");
  q.grouped_types = query_list(req, "grouped_types");
  for (auto* list : {&q.types, &q.exclude_types, &q.grouped_types})
    for (auto& t : *list)
      if (!storage::pg::known_notification_type(t)) {
        res.fail(errc::unprocessable, "Validation failed", "unknown notification type '" + t + "'");
        return false;
      }
  return true;
}

// The filters shared by the list endpoints; false after answering.
bool read_filters(const request& req, const responder& res, notification_query& q) {
  if (!read_types(req, res, q))
    return false;
  auto params = req.query();
  if (auto it = params.find("account_id"); it != params.end() && !it->second.empty() && !parse_id(it->second, q.account)) {
    res.fail(errc::unprocessable, "Validation failed", "account_id must be an account id");
    return false;
  }
  if (auto it = params.find("include_filtered"); it != params.end()) {
    auto& v = it->second;
    if (v == "true" || v == "1")
      q.include_filtered = true;
    else if (!(v == "false" || v == "0" || v.empty())) {
      res.fail(errc::unprocessable, "Validation failed", "include_filtered must be true or false");
      return false;
    }
  }
  return true;
}

// Authenticates as a user with `scope`, then sends `q` (viewer filled) and hands the view to `done`.
template <class Done>
void run(const actors::services& svc, const request& req, const responder& res, const char* scope, notification_query q,
         Done done) {
  authenticate(svc, req, res, scope, who::user, [svc, res, q, done](const actors::auth_context& ctx) mutable {
    q.viewer = ctx.account_id;
    ask(*svc.system, res, svc.notifications, timeout_of(svc), [done](const notification_view& v) { done(v); }, q);
  });
}

void send_empty(const responder& res) { res.json(200, nlohmann::json::object()); }

// A path id; answers 404 and returns false when it is not one.
template <class Id>
bool path_id(request& req, const responder& res, Id& out) {
  if (parse_id(req.params["id"], out))
    return true;
  res.fail(errc::not_found, "Record not found");
  return false;
}

// A group key from the path: printable ASCII of bounded length, else 404.
bool path_group_key(request& req, const responder& res, std::string& out) {
  out = req.params["group_key"];
  bool ok = !out.empty() && out.size() <= 200 &&
            std::all_of(out.begin(), out.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (!ok)
    res.fail(errc::not_found, "Record not found");
  return ok;
}

// Request ids from a bulk call: id[] in the query or the body.
bool read_request_ids(const request& req, const responder& res, std::vector<notification_request_id>& out) {
  auto body = read_body(req, res);
  if (!body)
    return false;
  std::vector<std::string> raw = query_list(req, "id");
  std::vector<std::string> from_body;
  if (!get_string_list(*body, "id", from_body, res))
    return false;
  raw.insert(raw.end(), from_body.begin(), from_body.end());
  for (auto& text : raw) {
    notification_request_id id;
    if (!parse_id(text, id)) {
      res.fail(errc::unprocessable, "Validation failed", "id[] must hold notification request ids");
      return false;
    }
    out.push_back(id);
  }
  if (out.size() > 100) {
    res.fail(errc::unprocessable, "Validation failed", "at most 100 ids at once");
    return false;
  }
  return true;
}

} // namespace

handler_fn notifications_list(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::list;
    if (!read_filters(req, res, q))
      return;
    q.page = read_page(req, 40, 80);
    auto prefix = link_prefix(svc.base_url, req);
    run(svc, req, res, read_scope, q, [svc, res, prefix](const notification_view& v) {
      response r;
      r.body = notifications_json(v, svc.base_url).dump();
      auto link = link_header(prefix, v.newest_cursor, v.oldest_cursor);
      if (!link.empty())
        r.headers.emplace_back("Link", link);
      res.send(std::move(r));
    });
  };
}

handler_fn notification_get(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::get;
    if (!path_id(req, res, q.id))
      return;
    run(svc, req, res, read_scope, q, [svc, res](const notification_view& v) {
      auto j = v.items.empty() ? nlohmann::json(nullptr) : notification_json(v.items.front(), v.bundle, svc.base_url);
      if (j.is_null())
        return res.fail(errc::not_found, "Record not found");
      res.json(200, j);
    });
  };
}

handler_fn notifications_clear(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::clear;
    run(svc, req, res, write_scope, q, [res](const notification_view&) { send_empty(res); });
  };
}

handler_fn notification_dismiss(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::dismiss;
    if (!path_id(req, res, q.id))
      return;
    run(svc, req, res, write_scope, q, [res](const notification_view&) { send_empty(res); });
  };
}

handler_fn notifications_unread(const actors::services& svc, bool grouped) {
  return [svc, grouped](request& req, const responder& res) {
    notification_query q;
    q.op = grouped ? notification_op::grouped_unread : notification_op::unread;
    if (!read_filters(req, res, q))
      return;
    q.page.limit = page_limit(req.query()["limit"], 100, 1000);
    run(svc, req, res, read_scope, q, [res](const notification_view& v) { res.json(200, {{"count", v.count}}); });
  };
}

handler_fn notifications_grouped(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::grouped;
    if (!read_filters(req, res, q))
      return;
    auto expand = req.query()["expand_accounts"];
    if (!expand.empty() && expand != "full" && expand != "partial_avatars")
      return res.fail(errc::bad_request, "Invalid value for 'expand_accounts': '" + expand +
                                           "', allowed values are 'full' and 'partial_avatars'");
    bool partial = expand == "partial_avatars";
    q.page = read_page(req, 40, 80);
    auto prefix = link_prefix(svc.base_url, req);
    run(svc, req, res, read_scope, q, [svc, res, prefix, partial](const notification_view& v) {
      response r;
      r.body = grouped_json(v, svc.base_url, partial).dump();
      auto link = link_header(prefix, v.newest_cursor, v.oldest_cursor);
      if (!link.empty())
        r.headers.emplace_back("Link", link);
      res.send(std::move(r));
    });
  };
}

handler_fn notification_group_get(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::group_get;
    if (!path_group_key(req, res, q.group_key))
      return;
    run(svc, req, res, read_scope, q, [svc, res](const notification_view& v) {
      auto j = grouped_json(v, svc.base_url, false);
      if (j["notification_groups"].empty())
        return res.fail(errc::not_found, "Record not found");
      res.json(200, j);
    });
  };
}

handler_fn notification_group_accounts(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::group_accounts;
    if (!path_group_key(req, res, q.group_key))
      return;
    run(svc, req, res, read_scope, q, [svc, res](const notification_view& v) {
      auto out = nlohmann::json::array();
      for (auto a : v.account_ids)
        if (auto it = v.bundle.accounts.find(a); it != v.bundle.accounts.end())
          out.push_back(account_json(it->second, svc.base_url));
      res.json(200, out);
    });
  };
}

handler_fn notification_group_dismiss(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::group_dismiss;
    if (!path_group_key(req, res, q.group_key))
      return;
    run(svc, req, res, write_scope, q, [res](const notification_view&) { send_empty(res); });
  };
}

handler_fn notification_policy_get(const actors::services& svc, bool v1) {
  return [svc, v1](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::policy_get;
    run(svc, req, res, read_scope, q, [res, v1](const notification_view& v) { res.json(200, policy_json(v.policy, v1)); });
  };
}

handler_fn notification_policy_set(const actors::services& svc, bool v1) {
  return [svc, v1](request& incoming, const responder& res) {
    authenticate(svc, incoming, res, write_scope, who::user, [svc, res, v1, req = incoming](const actors::auth_context& ctx) {
      auto body = read_body(req, res);
      if (!body)
        return;
      notification_query q;
      q.op = notification_op::policy_set;
      q.viewer = ctx.account_id;
      auto& p = q.policy;
      p = {"", "", "", "", "", 0, 0};
      if (v1) {
        std::optional<bool> a, b, c, d;
        if (!get_bool(*body, "filter_not_following", a, res) || !get_bool(*body, "filter_not_followers", b, res) ||
            !get_bool(*body, "filter_new_accounts", c, res) || !get_bool(*body, "filter_private_mentions", d, res))
          return;
        auto level = [](const std::optional<bool>& x) { return x ? (*x ? "filter" : "accept") : ""; };
        p.for_not_following = level(a);
        p.for_not_followers = level(b);
        p.for_new_accounts = level(c);
        p.for_private_mentions = level(d);
      } else {
        struct field {
          const char* key;
          std::string* out;
        } fields[] = {{"for_not_following", &p.for_not_following},
                      {"for_not_followers", &p.for_not_followers},
                      {"for_new_accounts", &p.for_new_accounts},
                      {"for_private_mentions", &p.for_private_mentions},
                      {"for_limited_accounts", &p.for_limited_accounts}};
        for (auto& f : fields) {
          std::optional<std::string> value;
          if (!get_string(*body, f.key, value, res))
            return;
          if (!value)
            continue;
          if (*value != "accept" && *value != "filter" && *value != "drop")
            return res.fail(errc::unprocessable, "Validation failed",
                            std::string(f.key) + " must be accept, filter or drop");
          *f.out = *value;
        }
      }
      ask(*svc.system, res, svc.notifications, timeout_of(svc),
          [res, v1](const notification_view& v) { res.json(200, policy_json(v.policy, v1)); }, q);
    });
  };
}

handler_fn notification_requests(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::requests;
    q.page = read_page(req, 40, 80);
    auto prefix = link_prefix(svc.base_url, req);
    run(svc, req, res, read_scope, q, [svc, res, prefix](const notification_view& v) {
      auto out = nlohmann::json::array();
      for (auto& r : v.requests)
        out.push_back(request_json(r, v.bundle, svc.base_url));
      response r;
      r.body = out.dump();
      auto link = link_header(prefix, v.newest_cursor, v.oldest_cursor);
      if (!link.empty())
        r.headers.emplace_back("Link", link);
      res.send(std::move(r));
    });
  };
}

handler_fn notification_request_get(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::request_get;
    notification_request_id id;
    if (!path_id(req, res, id))
      return;
    q.request_ids = {id};
    run(svc, req, res, read_scope, q, [svc, res](const notification_view& v) {
      if (v.requests.empty())
        return res.fail(errc::not_found, "Record not found");
      res.json(200, request_json(v.requests.front(), v.bundle, svc.base_url));
    });
  };
}

handler_fn notification_request_act(const actors::services& svc, bool accept, bool bulk) {
  return [svc, accept, bulk](request& incoming, const responder& res) {
    notification_query q;
    q.op = accept ? notification_op::request_accept : notification_op::request_dismiss;
    if (!bulk) {
      notification_request_id id;
      if (!path_id(incoming, res, id))
        return;
      q.request_ids = {id};
    }
    authenticate(svc, incoming, res, write_scope, who::user, [svc, res, bulk, q, req = incoming](const actors::auth_context& ctx) mutable {
      if (bulk && !read_request_ids(req, res, q.request_ids))
        return;
      q.viewer = ctx.account_id;
      ask(*svc.system, res, svc.notifications, timeout_of(svc),
          [res, bulk](const notification_view& v) {
            if (!bulk && v.count == 0)
              return res.fail(errc::not_found, "Record not found");
            send_empty(res);
          },
          q);
    });
  };
}

handler_fn notification_requests_merged(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    // Accepting a request moves its notifications in the same transaction: always merged.
    authenticate(svc, req, res, read_scope, who::user,
                 [res](const actors::auth_context&) { res.json(200, {{"merged", true}}); });
  };
}

handler_fn markers_get(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    notification_query q;
    q.op = notification_op::markers_get;
    for (auto& t : query_list(req, "timeline")) {
      if (t != "home" && t != "notifications")
        continue;  // Mastodon ignores unknown timelines
      model::marker m;
      m.timeline = t;
      q.markers.push_back(m);
    }
    run(svc, req, res, "read:statuses", q, [res](const notification_view& v) { res.json(200, markers_json(v.markers)); });
  };
}

handler_fn markers_set(const actors::services& svc) {
  return [svc](request& incoming, const responder& res) {
    authenticate(svc, incoming, res, "write:statuses", who::user, [svc, res, req = incoming](const actors::auth_context& ctx) {
      auto body = read_body(req, res);
      if (!body)
        return;
      notification_query q;
      q.op = notification_op::markers_set;
      q.viewer = ctx.account_id;
      for (const char* timeline : {"home", "notifications"}) {
        std::optional<std::string> value;
        auto nested = body->find(timeline);
        if (nested != body->end()) {
          if (!nested->is_object())
            return res.fail(errc::unprocessable, "Validation failed", std::string(timeline) + " must be an object");
          if (!get_string(*nested, "last_read_id", value, res))
            return;
        } else if (!get_string(*body, (std::string(timeline) + "[last_read_id]").c_str(), value, res)) {
          return;
        }
        if (!value)
          continue;
        model::marker m;
        m.timeline = timeline;
        if (!parse_id(*value, m.last_read_id))
          return res.fail(errc::unprocessable, "Validation failed", "last_read_id must be an id");
        q.markers.push_back(m);
      }
      if (q.markers.empty())
        return res.fail(errc::bad_request, "home[last_read_id] or notifications[last_read_id] is required");
      ask(*svc.system, res, svc.notifications, timeout_of(svc),
          [res](const notification_view& v) { res.json(200, markers_json(v.markers)); }, q);
    });
  };
}

} // namespace chorus::http::handlers
