#pragma once
// Mastodon's Conversation entity.
#include "common/model/conversation.hpp"
#include "common/model/status.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace chorus::http {

// {id, unread, accounts, last_status}: `accounts` are the other participants
// found in the bundle (the owner alone for a note to oneself), `last_status` is
// null when the bundle does not hold it.
nlohmann::json conversation_json(const model::conversation& c, const model::status_bundle& b,
                                 const std::string& base_url);

} // namespace chorus::http
