#pragma once
// Direct-message conversations as every layer sees them (see account.hpp):
// one participant's view of one thread with one set of participants.
#include "common/ids.hpp"

#include <vector>

namespace chorus::model {

struct conversation {
  conversation_id id;                        // the Conversation entity's id (this participant's row)
  chorus::account_id account_id;             // whose conversation this is
  std::vector<chorus::account_id> participants;  // the others, sorted (empty: a note to oneself)
  status_id last_status_id;                  // the newest direct status in it; the list's cursor
  bool unread = false;
};

} // namespace chorus::model
