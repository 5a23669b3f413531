#include "http/dto/notification.hpp"

#include "http/dto/account.hpp"
#include "http/dto/status.hpp"

#include <algorithm>

namespace chorus::http {
namespace {

bool status_type(const std::string& t) {
  return t == "favourite" || t == "reblog" || t == "status" || t == "mention" || t == "poll" || t == "update" ||
         t == "quote" || t == "quoted_update";
}

const model::status* find_status(const model::status_bundle& b, status_id id) {
  for (auto& s : b.statuses)
    if (s.id == id)
      return &s;
  return nullptr;
}

nlohmann::json partial_account_json(const model::account& a, const std::string& base_url) {
  auto full = account_json(a, base_url);
  return {{"id", full["id"]},       {"acct", full["acct"]},     {"locked", full["locked"]}, {"bot", full["bot"]},
          {"url", full["url"]},     {"avatar", full["avatar"]}, {"avatar_static", full["avatar_static"]}};
}

} // namespace

nlohmann::json notification_json(const model::notification& n, const model::status_bundle& b,
                                 const std::string& base_url) {
  auto acc = b.accounts.find(n.from_account_id);
  if (acc == b.accounts.end())
    return nullptr;
  nlohmann::json j = {{"id", std::to_string(n.id.value())},
                      {"type", n.type},
                      {"created_at", n.created_at},
                      {"group_key", n.group_key.empty() ? "ungrouped-" + std::to_string(n.id.value()) : n.group_key},
                      {"account", account_json(acc->second, base_url)}};
  if (status_type(n.type)) {
    auto s = find_status(b, n.status);
    if (!s)
      return nullptr;
    j["status"] = status_json(*s, b, base_url);
  }
  return j;
}

nlohmann::json notifications_json(const actors::notification_view& v, const std::string& base_url) {
  auto out = nlohmann::json::array();
  for (auto& n : v.items) {
    auto j = notification_json(n, v.bundle, base_url);
    if (!j.is_null())
      out.push_back(std::move(j));
  }
  return out;
}

nlohmann::json grouped_json(const actors::notification_view& v, const std::string& base_url, bool partial_avatars) {
  auto groups = nlohmann::json::array();
  std::vector<account_id> full, partial;
  std::vector<status_id> statuses;
  auto add = [](std::vector<account_id>& to, account_id a) {
    if (std::find(to.begin(), to.end(), a) == to.end())
      to.push_back(a);
  };
  for (std::size_t i = 0; i < v.groups.size() && i < v.items.size(); ++i) {
    auto& g = v.groups[i];
    auto& n = v.items[i];
    const model::status* s = nullptr;
    if (status_type(g.type)) {
      s = find_status(v.bundle, g.status);
      if (!s)
        continue;  // no longer visible
    }
    nlohmann::json j = {{"group_key", g.group_key},
                        {"notifications_count", g.notifications_count},
                        {"type", g.type},
                        {"most_recent_notification_id", std::to_string(g.most_recent_notification_id.value())}};
    if (g.page_min_id) {
      j["page_min_id"] = std::to_string(g.page_min_id.value());
      j["page_max_id"] = std::to_string(g.page_max_id.value());
      j["latest_page_notification_at"] = g.latest_page_notification_at;
    }
    auto ids = nlohmann::json::array();
    for (std::size_t k = 0; k < g.sample_account_ids.size(); ++k) {
      auto a = g.sample_account_ids[k];
      if (!v.bundle.accounts.count(a))
        continue;
      ids.push_back(std::to_string(a.value()));
      add(!partial_avatars || k == 0 ? full : partial, a);
    }
    j["sample_account_ids"] = ids;
    if (s) {
      j["status_id"] = std::to_string(s->id.value());
      if (std::find(statuses.begin(), statuses.end(), s->id) == statuses.end())
        statuses.push_back(s->id);
      add(full, s->account_id);
      if (s->reblog_of_id)
        if (auto o = v.bundle.reblogged.find(s->reblog_of_id); o != v.bundle.reblogged.end())
          add(full, o->second.account_id);
    }
    (void)n;
    groups.push_back(std::move(j));
  }
  auto accounts = nlohmann::json::array();
  for (auto a : full)
    if (auto it = v.bundle.accounts.find(a); it != v.bundle.accounts.end())
      accounts.push_back(account_json(it->second, base_url));
  auto sts = nlohmann::json::array();
  for (auto id : statuses)
    sts.push_back(status_json(*find_status(v.bundle, id), v.bundle, base_url));
  nlohmann::json out = {{"accounts", accounts}, {"statuses", sts}, {"notification_groups", groups}};
  if (partial_avatars) {
    auto parts = nlohmann::json::array();
    for (auto a : partial)
      if (std::find(full.begin(), full.end(), a) == full.end())
        if (auto it = v.bundle.accounts.find(a); it != v.bundle.accounts.end())
          parts.push_back(partial_account_json(it->second, base_url));
    out["partial_accounts"] = parts;
  }
  return out;
}

nlohmann::json request_json(const model::notification_request& r, const model::status_bundle& b,
                            const std::string& base_url) {
  auto acc = b.accounts.find(r.from_account_id);
  nlohmann::json j = {{"id", std::to_string(r.id.value())},
                      {"created_at", r.created_at},
                      {"updated_at", r.updated_at},
                      {"notifications_count", std::to_string(r.notifications_count)},
                      {"account", acc == b.accounts.end() ? nlohmann::json(nullptr) : account_json(acc->second, base_url)},
                      {"last_status", nullptr}};
  if (r.last_status)
    if (auto s = find_status(b, r.last_status); s && !s->deleted)
      j["last_status"] = status_json(*s, b, base_url);
  return j;
}

nlohmann::json policy_json(const model::notification_policy& p, bool v1) {
  nlohmann::json summary = {{"pending_requests_count", p.pending_requests_count},
                            {"pending_notifications_count", p.pending_notifications_count}};
  if (v1)
    return {{"filter_not_following", p.for_not_following != "accept"},
            {"filter_not_followers", p.for_not_followers != "accept"},
            {"filter_new_accounts", p.for_new_accounts != "accept"},
            {"filter_private_mentions", p.for_private_mentions != "accept"},
            {"summary", summary}};
  return {{"for_not_following", p.for_not_following},
          {"for_not_followers", p.for_not_followers},
          {"for_new_accounts", p.for_new_accounts},
          {"for_private_mentions", p.for_private_mentions},
          {"for_limited_accounts", p.for_limited_accounts},
          {"summary", summary}};
}

nlohmann::json markers_json(const std::vector<model::marker>& markers) {
  auto out = nlohmann::json::object();
  for (auto& m : markers)
    out[m.timeline] = {{"last_read_id", std::to_string(m.last_read_id)},
                       {"version", m.version},
                       {"updated_at", m.updated_at}};
  return out;
}

} // namespace chorus::http
