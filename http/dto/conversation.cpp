#include "http/dto/conversation.hpp"

#include "http/dto/account.hpp"
#include "http/dto/status.hpp"

namespace chorus::http {

nlohmann::json conversation_json(const model::conversation& c, const model::status_bundle& b,
                                 const std::string& base_url) {
  auto accounts = nlohmann::json::array();
  for (auto id : c.participants)
    if (auto it = b.accounts.find(id); it != b.accounts.end())
      accounts.push_back(account_json(it->second, base_url));
  // Mastodon shows the owner when there is no one else (a direct note to oneself).
  if (accounts.empty())
    if (auto it = b.accounts.find(c.account_id); it != b.accounts.end())
      accounts.push_back(account_json(it->second, base_url));
  nlohmann::json last = nullptr;
  for (const auto& s : b.statuses)
    if (s.id == c.last_status_id) {
      last = status_json(s, b, base_url);
      break;
    }
  return {{"id", std::to_string(c.id.value())}, {"unread", c.unread}, {"accounts", std::move(accounts)},
          {"last_status", std::move(last)}};
}

} // namespace chorus::http
