#pragma once
// Direct-message conversations (Mastodon's account_conversations): one row per
// participant of a thread and participant set. Direct statuses join them in a
// background job enqueued in the transaction that commits the status (so the
// group commit of status creation pays one more row in its job insert, and only
// for direct statuses), and leave them in a job enqueued with the delete. No CAF.
#include "common/model/conversation.hpp"
#include "storage/pg/jobs.hpp"
#include "storage/pg/statuses.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace pqxx { class connection_base; class transaction_base; }

namespace chorus::storage::pg {

using model::conversation;

// A row created or changed by a status joining or leaving: whose, and which.
struct conversation_touch {
  account_id account;
  conversation_id id;
};

// Adds direct status `s` to the conversation of each participant: its author
// (read) and every mentioned account that neither blocks the author nor is
// blocked by it (unread). The thread key is the root of the reply chain, so a
// reply joins its thread's conversation; the participant set keys the row too
// (a reply that adds someone starts another conversation, as in Mastodon). A
// participant who deleted the conversation gets a new row. Returns the rows
// created or changed; none if the status is gone, not direct, or already in
// them (a job that runs again). `next_id` names new rows.
std::vector<conversation_touch> add_to_conversations(pqxx::connection_base& c, status_id s,
                                                     const std::function<std::int64_t()>& next_id);

// Removes deleted status `s` from every conversation holding it: a row keeps
// its other statuses (last_status_id moves back) or is deleted when none is
// left. Returns the rows that remain and changed.
std::vector<conversation_touch> remove_from_conversations(pqxx::connection_base& c, status_id s);

// One page of `viewer`'s conversations, newest last status first (cursor:
// last_status_id, Mastodon's max_id/since_id/min_id).
std::vector<conversation> conversations_page(pqxx::connection_base& c, account_id viewer, const page& p);
// The viewer's rows among `ids`, in that order (missing or others' skipped).
std::vector<conversation> conversations_by_ids(pqxx::connection_base& c, account_id viewer,
                                               const std::vector<conversation_id>& ids);
// Deletes the viewer's row (not the statuses, not the others' rows); false if
// the viewer has no such conversation.
bool delete_conversation(pqxx::connection_base& c, account_id viewer, conversation_id id);
// Marks the viewer's row read; nullopt if the viewer has no such conversation.
std::optional<conversation> mark_conversation_read(pqxx::connection_base& c, account_id viewer, conversation_id id);

// Conversations with what renders them for `viewer`: the last statuses (with
// the viewer's flags, filtered by keep_visible), the participants' accounts and
// the viewer's own (shown when there is no other participant). Participants
// blocking or blocked by the viewer are removed from each item; with
// `drop_hidden`, so is an item whose last status the viewer may not see.
struct conversation_bundle {
  std::vector<conversation> items;
  status_bundle bundle;
};
conversation_bundle hydrate_conversations(pqxx::connection_base& c, account_id viewer, std::vector<conversation> rows,
                                          bool drop_hidden);

// The viewer's direct statuses (written by them or mentioning them), newest
// first, without deleted ones and without authors blocking or blocked by the
// viewer: GET /api/v1/timelines/direct.
std::vector<status_id> direct_timeline(pqxx::connection_base& c, account_id viewer, const page& p);

// The jobs (queue "feeds", payload {"status":ID}) enqueued with a direct
// status's creation and with its removal.
inline constexpr const char* conversation_add_kind = "conversation.add";
inline constexpr const char* conversation_remove_kind = "conversation.remove";
new_job conversation_add_job(status_id s);
new_job conversation_remove_job(status_id s);

} // namespace chorus::storage::pg
