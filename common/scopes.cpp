#include "common/scopes.hpp"

#include <algorithm>

namespace chorus::scopes {
namespace {

const std::vector<std::string_view>& all() {
  static const std::vector<std::string_view> list = {
    "read", "write", "follow", "push", "profile", "admin:read", "admin:write",
    "read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters", "read:follows",
    "read:lists", "read:mutes", "read:notifications", "read:search", "read:statuses",
    "write:accounts", "write:blocks", "write:bookmarks", "write:conversations", "write:favourites",
    "write:filters", "write:follows", "write:lists", "write:media", "write:mutes", "write:notifications",
    "write:reports", "write:statuses",
    "admin:read:accounts", "admin:read:reports", "admin:read:domain_allows", "admin:read:domain_blocks",
    "admin:read:ip_blocks", "admin:read:email_domain_blocks", "admin:read:canonical_email_blocks",
    "admin:write:accounts", "admin:write:reports", "admin:write:domain_allows", "admin:write:domain_blocks",
    "admin:write:ip_blocks", "admin:write:email_domain_blocks", "admin:write:canonical_email_blocks",
  };
  return list;
}

bool grants(std::string_view g, std::string_view r) {
  if (g == r)
    return true;
  // A parent scope grants its children: "read" → "read:x", "admin:read" → "admin:read:x".
  if (r.size() > g.size() && r.compare(0, g.size(), g) == 0 && r[g.size()] == ':')
    return true;
  // The legacy "follow" scope.
  if (g == "follow")
    return r == "read:follows" || r == "read:blocks" || r == "read:mutes" || r == "write:follows" ||
           r == "write:blocks" || r == "write:mutes";
  // "profile" grants nothing beyond itself here (Mastodon uses it for sign-in-only apps).
  return false;
}

} // namespace

bool known(std::string_view scope) {
  auto& l = all();
  return std::find(l.begin(), l.end(), scope) != l.end();
}

std::optional<std::vector<std::string>> parse(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find_first_of(" +", pos);
    if (end == std::string_view::npos)
      end = text.size();
    auto s = text.substr(pos, end - pos);
    if (!s.empty()) {
      if (!known(s))
        return std::nullopt;
      if (std::find(out.begin(), out.end(), s) == out.end())
        out.emplace_back(s);
    }
    pos = end + 1;
  }
  if (out.empty())
    out.emplace_back("read");
  return out;
}

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (auto& s : list) {
    if (!out.empty())
      out.push_back(' ');
    out += s;
  }
  return out;
}

bool allows(const std::vector<std::string>& granted, std::string_view required) {
  for (auto& g : granted)
    if (grants(g, required))
      return true;
  return false;
}

bool subset(const std::vector<std::string>& requested, const std::vector<std::string>& within) {
  for (auto& r : requested)
    if (!allows(within, r))
      return false;
  return true;
}

} // namespace chorus::scopes
