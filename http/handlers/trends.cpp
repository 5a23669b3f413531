// Trends (Mastodon client API): GET /api/v1/trends/statuses, /api/v1/trends/tags
// (and /api/v1/trends, an alias of tags). Offset pagination, as Mastodon.
#include "common/text.hpp"
#include "http/ask.hpp"
#include "http/auth.hpp"
#include "http/dto/status.hpp"
#include "http/handlers/common.hpp"
#include "http/handlers/handlers.hpp"
#include "http/pagination.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace chorus::http::handlers {
namespace {

struct offset_page {
  int limit = 0;
  int offset = 0;
};

// Reads an optional non-negative integer parameter; false if present but invalid.
bool int_param(const std::map<std::string, std::string>& q, const char* key, int& out) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty())
    return true;
  int v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || p != it->second.data() + it->second.size() || v < 0)
    return false;
  out = v;
  return true;
}

// limit (1.., above `max` clamped as Mastodon does) and offset (>= 0); answers 422
// and returns false for anything else.
bool read_offset_page(const request& req, const responder& res, int default_limit, int max_limit, offset_page& p) {
  auto q = req.query();
  p.offset = 0;
  auto lim = q.find("limit");
  std::string_view raw = lim == q.end() ? std::string_view() : std::string_view(lim->second);
  if (!raw.empty() && (raw.find_first_not_of("0123456789") != std::string_view::npos ||
                       raw.find_first_not_of('0') == std::string_view::npos)) {
    res.fail(errc::unprocessable, "Validation failed", "'limit' must be a positive integer");
    return false;
  }
  p.limit = page_limit(raw, default_limit, max_limit);
  if (!int_param(q, "offset", p.offset)) {
    res.fail(errc::unprocessable, "Validation failed", "'offset' must be a non-negative integer");
    return false;
  }
  return true;
}

// `<…?offset=next>; rel="next", <…?offset=prev>; rel="prev"`: next only when the
// page is full, prev only when not at the start; "" when neither.
std::string offset_link(const std::string& base_url, const request& req, const offset_page& p, std::size_t got) {
  std::string keep;
  for (auto& [k, v] : req.query_all())
    if (k != "offset")
      keep += text::url_encode(k) + "=" + text::url_encode(v) + "&";
  auto url = base_url + req.path + "?" + keep + "offset=";
  std::string link;
  if (got >= static_cast<std::size_t>(p.limit))
    link = "<" + url + std::to_string(p.offset + p.limit) + ">; rel=\"next\"";
  if (p.offset > 0)
    link += (link.empty() ? "" : ", ") + ("<" + url + std::to_string(std::max(0, p.offset - p.limit)) + ">; rel=\"prev\"");
  return link;
}

void send_array(const responder& res, const std::string& body, const std::string& link) {
  response r;
  r.body = body;
  if (!link.empty())
    r.headers.emplace_back("Link", link);
  res.send(std::move(r));
}

// Mastodon's Tag entity; history counts are strings, as Mastodon sends them.
nlohmann::json tag_json(const actors::trend_tag& t, const std::string& base_url) {
  auto history = nlohmann::json::array();
  for (const auto& d : t.history)
    history.push_back(
      {{"day", std::to_string(d.day)}, {"uses", std::to_string(d.uses)}, {"accounts", std::to_string(d.accounts)}});
  return {{"name", t.name}, {"url", base_url + "/tags/" + t.name}, {"history", std::move(history)}, {"following", false}};
}

} // namespace

handler_fn trend_statuses(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    offset_page p;
    if (!read_offset_page(req, res, 20, 40, p))
      return;
    authenticate_optional(svc, req, res, "read:statuses", [svc, res, req, p](const actors::auth_context& ctx) {
      ask(*svc.system, res, svc.trends, timeout_of(svc),
          [svc, res, req, p](const actors::status_view& v) {
            send_array(res, statuses_json(v.bundle, svc.base_url).dump(),
                       offset_link(svc.base_url, req, p, v.bundle.statuses.size()));
          },
          actors::trend_statuses_query{ctx.account_id, p.limit, p.offset});
    });
  };
}

handler_fn trend_tags(const actors::services& svc) {
  return [svc](request& req, const responder& res) {
    offset_page p;
    if (!read_offset_page(req, res, 10, 20, p))
      return;
    // Tags are the same for everyone (Mastodon asks no scope); a token, if sent, must still be valid.
    authenticate_optional(svc, req, res, "", [svc, res, req, p](const actors::auth_context&) {
      ask(*svc.system, res, svc.trends, timeout_of(svc),
          [svc, res, req, p](const actors::trend_tag_list& l) {
            auto body = nlohmann::json::array();
            for (const auto& t : l.tags)
              body.push_back(tag_json(t, svc.base_url));
            send_array(res, body.dump(), offset_link(svc.base_url, req, p, l.tags.size()));
          },
          actors::trend_tags_query{p.limit, p.offset});
    });
  };
}

} // namespace chorus::http::handlers
