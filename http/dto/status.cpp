#include "http/dto/status.hpp"

#include "common/crypto.hpp"

#include "http/dto/account.hpp"

namespace chorus::http {

const char* visibility_name(std::int16_t v) {
  switch (v) {
    case 0: return "public";
    case 1: return "unlisted";
    case 2: return "private";
    default: return "direct";
  }
}

int visibility_from_name(const std::string& name) {
  if (name == "public") return 0;
  if (name == "unlisted") return 1;
  if (name == "private") return 2;
  if (name == "direct") return 3;
  return -1;
}

namespace {
nlohmann::json id_or_null(std::int64_t id) { return id ? nlohmann::json(std::to_string(id)) : nlohmann::json(); }

nlohmann::json one(const storage::pg::status_row& s, const storage::pg::status_bundle& b, const std::string& base,
                   bool with_source) {
  nlohmann::json account;
  std::string username = "unknown";
  if (auto it = b.accounts.find(s.account_id); it != b.accounts.end()) {
    account = account_json(it->second, base);
    username = it->second.username;
  }
  nlohmann::json mentions = nlohmann::json::array();
  for (auto id : s.mention_ids)
    if (auto it = b.accounts.find(id); it != b.accounts.end())
      mentions.push_back({{"id", std::to_string(id)},
                          {"username", it->second.username},
                          {"acct", it->second.username},
                          {"url", base + "/@" + it->second.username}});
  nlohmann::json tags = nlohmann::json::array();
  for (auto& t : s.tags)
    tags.push_back({{"name", t}, {"url", base + "/tags/" + t}});
  nlohmann::json j = {
    {"id", std::to_string(s.id)},
    {"created_at", s.created_at},
    {"in_reply_to_id", id_or_null(s.in_reply_to_id)},
    {"in_reply_to_account_id", id_or_null(s.in_reply_to_account_id)},
    {"sensitive", s.sensitive},
    {"spoiler_text", s.spoiler_text},
    {"visibility", visibility_name(s.visibility)},
    {"language", s.language.empty() ? nlohmann::json() : nlohmann::json(s.language)},
    {"uri", base + "/users/" + username + "/statuses/" + std::to_string(s.id)},
    {"url", base + "/@" + username + "/" + std::to_string(s.id)},
    {"replies_count", s.replies_count},
    {"reblogs_count", s.reblogs_count},
    {"favourites_count", s.favourites_count},
    {"edited_at", nullptr},
    {"favourited", s.favourited},
    {"reblogged", s.reblogged},
    {"muted", false},
    {"bookmarked", s.bookmarked},
    {"pinned", false},
    {"content", s.content},
    {"reblog", nullptr},
    {"application", nullptr},
    {"account", account},
    {"media_attachments", nlohmann::json::array()},
    {"mentions", mentions},
    {"tags", tags},
    {"emojis", nlohmann::json::array()},
    {"card", nullptr},
    {"poll", nullptr},
  };
  if (with_source)
    j["text"] = s.text;
  return j;
}
} // namespace

nlohmann::json status_json(const storage::pg::status_row& s, const storage::pg::status_bundle& b,
                           const std::string& base_url, bool with_source) {
  auto j = one(s, b, base_url, with_source);
  if (s.reblog_of_id) {
    if (auto it = b.reblogged.find(s.reblog_of_id); it != b.reblogged.end()) {
      j["reblog"] = one(it->second, b, base_url, false);
      j["content"] = "";
      // The outer status shows the viewer's state of the original, as Mastodon does.
      j["favourited"] = it->second.favourited;
      j["reblogged"] = it->second.reblogged;
      j["bookmarked"] = it->second.bookmarked;
    }
  }
  return j;
}

nlohmann::json statuses_json(const storage::pg::status_bundle& b, const std::string& base_url, std::size_t from,
                             std::size_t to) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = from; i < b.statuses.size() && i < to; ++i)
    out.push_back(status_json(b.statuses[i], b, base_url));
  return out;
}

std::shared_ptr<const actors::rendered_status> status_template(const storage::pg::status_row& s,
                                                               const storage::pg::status_bundle& b,
                                                               const std::string& base_url) {
  // Each open flag is rendered as a marker string no user text can produce
  // (a control character and a per-process nonce), then cut out of the text.
  static const std::string nonce = crypto::random_token(6);
  static const std::string prefix = "\"\\u0001" + nonce;  // how dump() writes "\x01<nonce>"
  static const std::pair<const char*, std::uint8_t> flags[] = {{"favourited", 1}, {"reblogged", 2}, {"bookmarked", 4}};
  auto j = status_json(s, b, base_url);
  auto mark = [&](nlohmann::json& o) {
    for (auto& [name, bit] : flags)
      if (o.contains(name))
        o[name] = "\x01" + nonce + static_cast<char>('0' + bit);
  };
  mark(j);
  if (j.contains("reblog") && j["reblog"].is_object())
    mark(j["reblog"]);
  auto text = j.dump();
  auto out = std::make_shared<actors::rendered_status>();
  out->flags_of = s.reblog_of_id ? s.reblog_of_id : s.id;
  std::size_t pos = 0;
  for (auto k = text.find(prefix); k != std::string::npos; k = text.find(prefix, pos)) {
    out->text.push_back(text.substr(pos, k - pos));
    out->slots.push_back(static_cast<std::uint8_t>(text[k + prefix.size()] - '0'));
    pos = k + prefix.size() + 2;  // the flag digit and the closing quote
  }
  out->text.push_back(text.substr(pos));
  return out;
}

} // namespace chorus::http
