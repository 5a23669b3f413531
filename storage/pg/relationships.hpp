#pragma once
// Follows, follow requests, blocks and mutes. Every change is one transaction
// that also keeps followers_count / following_count right.
#include "common/errc.hpp"
#include "common/model/relationship.hpp"
#include "storage/pg/statuses.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace pqxx { class connection_base; class transaction_base; }

namespace chorus::storage::pg {

using relationship_row = model::relationship;
using model::relation_verb;
using model::relation_change;
using model::people_kind;

enum class follow_outcome { followed, requested, blocked, self };

// Changes run in the caller's transaction (the relationships actor commits many
// together). Follows `target` (or asks to, if it is locked). Idempotent; updates the
// show_reblogs / notify options of an existing follow.
follow_outcome follow(pqxx::transaction_base& tx, std::int64_t row_id, std::int64_t me, std::int64_t target,
                      bool reblogs, bool notify);
void unfollow(pqxx::transaction_base& tx, std::int64_t me, std::int64_t target);
// `me` accepts or refuses `requester`'s follow request; false if there was none.
bool authorize_follow(pqxx::transaction_base& tx, std::int64_t row_id, std::int64_t me, std::int64_t requester);
bool reject_follow(pqxx::transaction_base& tx, std::int64_t me, std::int64_t requester);
// Blocking removes follows and follow requests in both directions.
void block(pqxx::transaction_base& tx, std::int64_t row_id, std::int64_t me, std::int64_t target);
void unblock(pqxx::transaction_base& tx, std::int64_t me, std::int64_t target);
// duration_s 0 = until unmuted.
void mute(pqxx::transaction_base& tx, std::int64_t row_id, std::int64_t me, std::int64_t target, bool notifications,
          std::int64_t duration_s);
void unmute(pqxx::transaction_base& tx, std::int64_t me, std::int64_t target);

std::vector<relationship_row> relationships(pqxx::connection_base& c, account_id me,
                                            const std::vector<account_id>& ids);
std::vector<relationship_row> relationships(pqxx::transaction_base& tx, account_id me,
                                            const std::vector<account_id>& ids);

// (cursor, account id) pairs, newest first: followers/following of `account`,
// or `account`'s own follow requests, blocks, mutes.
std::vector<std::pair<std::int64_t, std::int64_t>> people(pqxx::connection_base& c, people_kind kind,
                                                          std::int64_t account, const page& p);

// One change of a batch (id pre-assigned for a row it may create), and its outcome.
struct relation_item {
  relation_change change;
  std::int64_t row_id = 0;
};

struct relation_outcome {
  relationship_row row;
  errc code = errc::ok;
  std::string error;
};

// One change inside the caller's transaction; returns the relationship after it.
// Throws chorus::failure (not_found, forbidden, unprocessable) to fail this item.
relationship_row apply_change(pqxx::transaction_base& tx, const relation_item& item);

// Group commit for relationship changes: one transaction, a savepoint per item
// (savepoint_batch.hpp), so one failing change does not fail the others.
std::vector<relation_outcome> apply_changes(pqxx::connection_base& c, const std::vector<relation_item>& items);

} // namespace chorus::storage::pg
