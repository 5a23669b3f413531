#include "http/pagination.hpp"

#include "common/text.hpp"

#include <algorithm>
#include <charconv>

namespace chorus::http {
namespace {

std::int64_t id_param(const std::map<std::string, std::string>& q, const char* key) {
  auto it = q.find(key);
  if (it == q.end())
    return 0;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return ec == std::errc() && p == it->second.data() + it->second.size() && v > 0 ? v : 0;
}

} // namespace

int page_limit(std::string_view raw, int default_limit, int max_limit) {
  if (raw.empty() || raw.find_first_not_of("0123456789") != std::string_view::npos)
    return default_limit;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && v > max_limit))
    return max_limit;  // more digits than an int64 still means "as many as allowed"
  return static_cast<int>(std::max<std::int64_t>(v, 1));
}

storage::pg::page read_page(const request& req, int default_limit, int max_limit) {
  auto q = req.query();
  storage::pg::page p;
  p.max_id = id_param(q, "max_id");
  p.since_id = id_param(q, "since_id");
  p.min_id = id_param(q, "min_id");
  auto it = q.find("limit");
  p.limit = page_limit(it == q.end() ? std::string_view() : std::string_view(it->second), default_limit, max_limit);
  return p;
}

std::string link_prefix(const std::string& base_url, const request& req) {
  std::string keep;
  for (auto& [k, v] : req.query_all())
    if (k != "max_id" && k != "since_id" && k != "min_id")
      keep += text::url_encode(k) + "=" + text::url_encode(v) + "&";
  // The path was decoded on the way in: encode each segment again.
  std::string path;
  for (std::size_t pos = 0; pos < req.path.size();) {
    auto slash = req.path.find('/', pos);
    if (slash == pos) {
      path.push_back('/');
      ++pos;
      continue;
    }
    auto end = slash == std::string::npos ? req.path.size() : slash;
    path += text::url_encode(req.path.substr(pos, end - pos));
    pos = end;
  }
  return base_url + path + "?" + keep;
}

std::string link_header(const std::string& prefix, std::int64_t newest, std::int64_t oldest) {
  if (newest == 0 || oldest == 0)
    return {};
  return "<" + prefix + "max_id=" + std::to_string(oldest) + ">; rel=\"next\", <" + prefix + "min_id=" +
         std::to_string(newest) + ">; rel=\"prev\"";
}

std::string link_header(const std::string& base_url, const request& req, std::int64_t newest, std::int64_t oldest) {
  if (newest == 0 || oldest == 0)
    return {};
  return link_header(link_prefix(base_url, req), newest, oldest);
}

} // namespace chorus::http
