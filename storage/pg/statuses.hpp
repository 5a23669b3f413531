#pragma once
// Statuses, mentions, hashtags, favourites, bookmarks and reblogs. Single writes
// take the caller's transaction; the group commits (create_statuses,
// apply_actions) own theirs. Counters change in the same transaction as the rows
// they count. No CAF, and no rendering: content arrives rendered.
#include "common/errc.hpp"
#include "common/model/status.hpp"
#include "storage/pg/accounts.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pqxx { class connection_base; class transaction_base; }

namespace chorus::storage::pg {

using model::visibility;
using model::new_status;
using model::create_result;
using status_row = model::status;
using model::status_bundle;
using model::page;
using model::status_verb;
using model::status_action;

// Creates a batch of statuses with a handful of statements (not one per status):
// repeated Idempotency-Keys and parents checked, rows inserted with unnest(),
// mentions, tags and counters (parent replies, author statuses) written, all in `tx`.
std::vector<create_result> insert_statuses(pqxx::transaction_base& tx, const std::vector<new_status>& batch);

status_bundle load_statuses(pqxx::connection_base& c, const std::vector<status_id>& ids, account_id viewer);
status_bundle load_statuses(pqxx::transaction_base& tx, const std::vector<status_id>& ids, account_id viewer);

struct created_status {
  create_result result;
  // The status as stored, with its author and the accounts it mentions (empty
  // when nothing was created: parent_missing).
  status_bundle bundle;
};

// Group commit of status creation: one transaction for the whole batch inserts
// the statuses (insert_statuses), loads what was created, and enqueues the
// fan-out job of every new status, committed with it. One result per item, in order.
std::vector<created_status> create_statuses(pqxx::connection_base& c, const std::vector<new_status>& batch);

// True if `viewer` (0 = anonymous) may see the status.
bool visible_to(const status_row& s, std::int64_t viewer);
// Drops from `b.statuses` what the viewer may not see (and reblogs of such statuses).
void keep_visible(status_bundle& b, std::int64_t viewer);

// Public statuses, without authors the viewer blocks, mutes or is blocked by.
std::vector<status_id> public_timeline(pqxx::connection_base& c, std::int64_t viewer, const page& p);
std::vector<status_id> tag_timeline(pqxx::connection_base& c, const std::string& tag, std::int64_t viewer,
                                       const page& p);
// The viewer's home timeline computed on read (fan-out on read): own statuses and
// those of followed accounts (their reblogs unless show_reblogs is off), replies
// only to oneself, the viewer or followed accounts, direct ones only when mentioned,
// without muted or blocked authors. The feed actors (actors/feed) serve the cached
// newest 800 and use this only for older pages.
std::vector<status_id> home_timeline(pqxx::connection_base& c, std::int64_t viewer, const page& p);
// The home timeline query: status ids (and with `with_authors` their author and
// the reblogged author) of page `p`, at most `limit` (shared with the feed rebuild).
std::string home_sql(std::int64_t viewer, const page& p, int limit, bool with_authors);

// Statuses of `account` that `viewer` may see (the owner sees all but direct ones).
std::vector<status_id> account_statuses(pqxx::connection_base& c, std::int64_t account, std::int64_t viewer,
                                           const page& p, bool exclude_replies, bool exclude_reblogs);
// Ancestors (oldest first) and descendants (depth-first by id) of a status.
std::pair<std::vector<status_id>, std::vector<status_id>> context(pqxx::connection_base& c, std::int64_t id);

// Favourites/bookmarks of `account`, paginated by the favourite's own id.
// Returns (cursor id, status id) pairs, newest first.
std::vector<std::pair<std::int64_t, std::int64_t>> favourites_of(pqxx::connection_base& c, std::int64_t account,
                                                                 const page& p);
std::vector<std::pair<std::int64_t, std::int64_t>> bookmarks_of(pqxx::connection_base& c, std::int64_t account,
                                                                const page& p);
// (favourite or reblog id as cursor, account id), most recent first.
std::vector<std::pair<std::int64_t, std::int64_t>> favourited_by(pqxx::connection_base& c, std::int64_t status,
                                                                 const page& p);
std::vector<std::pair<std::int64_t, std::int64_t>> reblogged_by(pqxx::connection_base& c, std::int64_t status,
                                                                const page& p);

// Interactions, in the caller's transaction (the statuses actor commits many
// together); each changes its counter in the same transaction and is idempotent.
// Returns true when the favourite is new.
bool favourite(pqxx::transaction_base& tx, std::int64_t fav_id, std::int64_t account, std::int64_t status);
void unfavourite(pqxx::transaction_base& tx, std::int64_t account, std::int64_t status);
void bookmark(pqxx::transaction_base& tx, std::int64_t id, std::int64_t account, std::int64_t status);
void unbookmark(pqxx::transaction_base& tx, std::int64_t account, std::int64_t status);
// Returns the id of the (new or existing) reblog status.
std::int64_t reblog(pqxx::transaction_base& tx, std::int64_t new_id, std::int64_t account, std::int64_t status,
                    std::int16_t visibility);
// Returns the id of the deleted reblog, 0 if there was none.
std::int64_t unreblog(pqxx::transaction_base& tx, std::int64_t account, std::int64_t status);
// A moderator's removal: soft-deletes any live status (and reblogs of it) with
// the same counter changes as a delete; returns its author, 0 if it is gone.
std::int64_t takedown_status(pqxx::transaction_base& tx, std::int64_t status);
// Soft-deletes the author's status (and reblogs of it); false if it is not theirs or gone.
bool delete_status(pqxx::transaction_base& tx, std::int64_t account, std::int64_t status);

// One interaction of a batch (id pre-assigned for a row it may create).
struct action_item {
  status_action action;
  std::int64_t new_id = 0;
};

// Its outcome: the status after the action, or an error for this item alone.
struct action_outcome {
  status_bundle bundle;         // remove, takedown: the status as it was, with its source text (Mastodon's redraft)
  std::int64_t removed_id = 0;  // unreblog: the reblog status that was deleted
  errc code = errc::ok;
  std::string error;
};

// One interaction inside the caller's transaction: loads the target for the
// viewer, checks the rules, makes the change with its counters and its feed job
// (fan-out of a new reblog, revocation of a removed status), and returns the
// status after it. Throws chorus::failure (not_found, forbidden) to fail this item.
status_bundle apply_action(pqxx::transaction_base& tx, const action_item& item, std::int64_t& removed_id);

// Group commit for interactions: one transaction, a savepoint per item
// (savepoint_batch.hpp), so one failing item does not fail the others.
std::vector<action_outcome> apply_actions(pqxx::connection_base& c, const std::vector<action_item>& items);

} // namespace chorus::storage::pg
