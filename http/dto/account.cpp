#include "http/dto/account.hpp"

#include "common/text.hpp"

namespace chorus::http {

std::string text_to_html(const std::string& text) {
  if (text.empty())
    return {};
  std::string out = "<p>";
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    switch (c) {
      case '\r': break;
      case '\n':
        if (i + 1 < text.size() && text[i + 1] == '\n') {
          out += "</p><p>";
          while (i + 1 < text.size() && text[i + 1] == '\n')
            ++i;
        } else {
          out += "<br />";
        }
        break;
      default: out += text::html_escape(std::string(1, c));
    }
  }
  return out + "</p>";
}

nlohmann::json account_json(const storage::pg::account_row& a, const std::string& base_url) {
  auto missing_avatar = base_url + "/avatars/original/missing.png";
  auto missing_header = base_url + "/headers/original/missing.png";
  return {
    {"id", std::to_string(a.id)},
    {"username", a.username},
    {"acct", a.username},
    {"display_name", a.display_name},
    {"locked", a.locked},
    {"bot", a.bot},
    {"discoverable", a.discoverable},
    {"group", false},
    {"created_at", a.created_at},
    {"note", text_to_html(a.note)},
    {"url", base_url + "/@" + a.username},
    {"uri", base_url + "/users/" + a.username},
    {"avatar", missing_avatar},
    {"avatar_static", missing_avatar},
    {"header", missing_header},
    {"header_static", missing_header},
    {"followers_count", a.followers_count},
    {"following_count", a.following_count},
    {"statuses_count", a.statuses_count},
    {"last_status_at", a.last_status_at.empty() ? nlohmann::json() : nlohmann::json(a.last_status_at)},
    {"emojis", nlohmann::json::array()},
    {"fields", nlohmann::json::array()},
  };
}

nlohmann::json credential_account_json(const storage::pg::account_row& a, const std::string& base_url) {
  auto j = account_json(a, base_url);
  j["source"] = {
    {"privacy", "public"},
    {"sensitive", false},
    {"language", ""},
    {"note", a.note},
    {"fields", nlohmann::json::array()},
    {"follow_requests_count", a.follow_requests_count},
  };
  return j;
}

} // namespace chorus::http
