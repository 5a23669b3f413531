#include "storage/pg/relationships.hpp"
#include "storage/pg/notifications.hpp"
#include "storage/pg/ids.hpp"

#include "common/errc.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/savepoint_batch.hpp"

#include <algorithm>
#include <pqxx/pqxx>

namespace chorus::storage::pg {
namespace {


// Removes a follow and fixes both counters; no-op when absent.
void drop_follow(pqxx::transaction_base& tx, std::int64_t follower, std::int64_t target) {
  tx.exec_params("WITH del AS (DELETE FROM follows WHERE account_id = $1 AND target_account_id = $2 RETURNING 1),"
                 " a AS (UPDATE accounts SET following_count = greatest(following_count - (SELECT count(*) FROM del), 0)"
                 "       WHERE id = $1 RETURNING 1)"
                 " UPDATE accounts SET followers_count = greatest(followers_count - (SELECT count(*) FROM del), 0)"
                 " WHERE id = $2",
                 follower, target);
}

// Adds a follow (idempotent) and fixes both counters; true when the follow is new.
bool add_follow(pqxx::transaction_base& tx, std::int64_t row_id, std::int64_t follower, std::int64_t target,
                bool reblogs, bool notify) {
  auto r = tx.exec_params("WITH ins AS (INSERT INTO follows (id, account_id, target_account_id, show_reblogs, notify)"
                          "  VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, target_account_id)"
                          "  DO UPDATE SET show_reblogs = EXCLUDED.show_reblogs, notify = EXCLUDED.notify"
                          "  RETURNING (xmax = 0) AS inserted),"
                          " n AS (SELECT count(*) AS n FROM ins WHERE inserted),"
                          " a AS (UPDATE accounts SET following_count = following_count + (SELECT n FROM n) WHERE id = $2"
                          "       RETURNING 1)"
                          " UPDATE accounts SET followers_count = followers_count + (SELECT n FROM n) WHERE id = $3"
                          " RETURNING (SELECT n FROM n)",
                          row_id, follower, target, reblogs, notify);
  return !r.empty() && r[0][0].as<std::int64_t>() > 0;
}

bool blocked_either_way(pqxx::transaction_base& tx, std::int64_t a, std::int64_t b) {
  return tx.exec_params1("SELECT EXISTS (SELECT 1 FROM blocks WHERE (account_id = $1 AND target_account_id = $2)"
                         " OR (account_id = $2 AND target_account_id = $1))",
                         a, b)[0]
    .as<bool>();
}

} // namespace

follow_outcome follow(pqxx::transaction_base& tx, std::int64_t row_id, std::int64_t me, std::int64_t target,
                      bool reblogs, bool notify) {
  if (me == target)
    return follow_outcome::self;
  return translated([&] {
    // No FOR SHARE: two follows of one account would both hold it and then
    // deadlock upgrading it for the followers_count update.
    auto locked = tx.exec_params("SELECT locked FROM accounts WHERE id = $1", target);
    if (locked.empty())
      throw failure(errc::not_found, "Record not found");
    if (blocked_either_way(tx, me, target))
      return follow_outcome::blocked;
    auto already = tx.exec_params1("SELECT EXISTS (SELECT 1 FROM follows WHERE account_id = $1"
                                   " AND target_account_id = $2)",
                                   me, target)[0]
                     .as<bool>();
    auto outcome = follow_outcome::followed;
    if (locked[0][0].as<bool>() && !already) {
      auto ins = tx.exec_params("INSERT INTO follow_requests (id, account_id, target_account_id, show_reblogs, notify)"
                                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, target_account_id)"
                                " DO UPDATE SET show_reblogs = EXCLUDED.show_reblogs, notify = EXCLUDED.notify"
                                " RETURNING (xmax = 0)",
                                row_id, me, target, reblogs, notify);
      if (!ins.empty() && ins[0][0].as<bool>())  // a new request notifies the target
        enqueue_jobs(tx, {notify_job({"follow_request", target, me, 0, row_id, 0})});
      outcome = follow_outcome::requested;
    } else if (add_follow(tx, row_id, me, target, reblogs, notify)) {
      enqueue_jobs(tx, {notify_job({"follow", target, me, 0, row_id, 0})});  // a new follow notifies the target
    }
    return outcome;
  });
}

void unfollow(pqxx::transaction_base& tx, std::int64_t me, std::int64_t target) {
  translated([&] {
    drop_follow(tx, me, target);
    tx.exec_params("DELETE FROM follow_requests WHERE account_id = $1 AND target_account_id = $2", me, target);
    return 0;
  });
}

bool authorize_follow(pqxx::transaction_base& tx, std::int64_t row_id, std::int64_t me, std::int64_t requester) {
  return translated([&] {
    auto r = tx.exec_params("DELETE FROM follow_requests WHERE account_id = $1 AND target_account_id = $2"
                            " RETURNING show_reblogs, notify",
                            requester, me);
    if (r.empty())
      return false;
    add_follow(tx, row_id, requester, me, r[0][0].as<bool>(), r[0][1].as<bool>());
    return true;
  });
}

bool reject_follow(pqxx::transaction_base& tx, std::int64_t me, std::int64_t requester) {
  return translated([&] {
    auto r = tx.exec_params("DELETE FROM follow_requests WHERE account_id = $1 AND target_account_id = $2 RETURNING 1",
                            requester, me);
    return !r.empty();
  });
}

void block(pqxx::transaction_base& tx, std::int64_t row_id, std::int64_t me, std::int64_t target) {
  translated([&] {
    tx.exec_params("INSERT INTO blocks (id, account_id, target_account_id) VALUES ($1, $2, $3)"
                   " ON CONFLICT DO NOTHING",
                   row_id, me, target);
    drop_follow(tx, me, target);
    drop_follow(tx, target, me);
    tx.exec_params("DELETE FROM follow_requests WHERE (account_id = $1 AND target_account_id = $2)"
                   " OR (account_id = $2 AND target_account_id = $1)",
                   me, target);
    return 0;
  });
}

void unblock(pqxx::transaction_base& tx, std::int64_t me, std::int64_t target) {
  translated([&] {
    tx.exec_params("DELETE FROM blocks WHERE account_id = $1 AND target_account_id = $2", me, target);
    return 0;
  });
}

void mute(pqxx::transaction_base& tx, std::int64_t row_id, std::int64_t me, std::int64_t target, bool notifications,
          std::int64_t duration_s) {
  translated([&] {
    tx.exec_params("INSERT INTO mutes (id, account_id, target_account_id, hide_notifications, expires_at)"
                   " VALUES ($1, $2, $3, $4, CASE WHEN $5 > 0 THEN now() + make_interval(secs => $5) END)"
                   " ON CONFLICT (account_id, target_account_id) DO UPDATE SET"
                   " hide_notifications = EXCLUDED.hide_notifications, expires_at = EXCLUDED.expires_at",
                   row_id, me, target, notifications, duration_s);
    return 0;
  });
}

void unmute(pqxx::transaction_base& tx, std::int64_t me, std::int64_t target) {
  translated([&] {
    tx.exec_params("DELETE FROM mutes WHERE account_id = $1 AND target_account_id = $2", me, target);
    return 0;
  });
}

std::vector<relationship_row> relationships(pqxx::connection_base& c, account_id me,
                                            const std::vector<account_id>& ids) {
  return translated([&] {
    pqxx::work tx(c);
    return relationships(tx, me, ids);
  });
}

std::vector<relationship_row> relationships(pqxx::transaction_base& tx, account_id me,
                                            const std::vector<account_id>& ids) {
  return translated([&] {
    std::vector<relationship_row> out;
    auto rows = tx.exec_params(
      "SELECT t.id,"
      " f.account_id IS NOT NULL, coalesce(f.show_reblogs, false), coalesce(f.notify, false),"
      " EXISTS (SELECT 1 FROM follows x WHERE x.account_id = t.id AND x.target_account_id = $1),"
      " EXISTS (SELECT 1 FROM blocks x WHERE x.account_id = $1 AND x.target_account_id = t.id),"
      " EXISTS (SELECT 1 FROM blocks x WHERE x.account_id = t.id AND x.target_account_id = $1),"
      " m.account_id IS NOT NULL, coalesce(m.hide_notifications, false),"
      " EXISTS (SELECT 1 FROM follow_requests x WHERE x.account_id = $1 AND x.target_account_id = t.id),"
      " EXISTS (SELECT 1 FROM follow_requests x WHERE x.account_id = t.id AND x.target_account_id = $1)"
      " FROM unnest($2::bigint[]) WITH ORDINALITY AS t(id, n)"
      " JOIN accounts a ON a.id = t.id"
      " LEFT JOIN follows f ON f.account_id = $1 AND f.target_account_id = t.id"
      " LEFT JOIN mutes m ON m.account_id = $1 AND m.target_account_id = t.id"
      "   AND (m.expires_at IS NULL OR m.expires_at > now())"
      " ORDER BY t.n",
      me, bigint_array(ids));
    for (const auto& r : rows) {
      relationship_row x;
      x.id = r[0].as<account_id>();
      x.following = r[1].as<bool>();
      x.showing_reblogs = r[2].as<bool>();
      x.notifying = r[3].as<bool>();
      x.followed_by = r[4].as<bool>();
      x.blocking = r[5].as<bool>();
      x.blocked_by = r[6].as<bool>();
      x.muting = r[7].as<bool>();
      x.muting_notifications = r[8].as<bool>();
      x.requested = r[9].as<bool>();
      x.requested_by = r[10].as<bool>();
      out.push_back(x);
    }
    return out;
  });
}

std::vector<std::pair<std::int64_t, std::int64_t>> people(pqxx::connection_base& c, people_kind kind,
                                                          std::int64_t account, const page& p) {
  std::string table, owner, other, extra;
  switch (kind) {
    case people_kind::followers: table = "follows"; owner = "target_account_id"; other = "account_id"; break;
    case people_kind::following: table = "follows"; owner = "account_id"; other = "target_account_id"; break;
    case people_kind::follow_requests: table = "follow_requests"; owner = "target_account_id"; other = "account_id"; break;
    case people_kind::blocks: table = "blocks"; owner = "account_id"; other = "target_account_id"; break;
    case people_kind::mutes:
      table = "mutes";
      owner = "account_id";
      other = "target_account_id";
      extra = " AND (x.expires_at IS NULL OR x.expires_at > now())";
      break;
  }
  return translated([&] {
    std::string where;
    bool asc = false;
    if (p.max_id > 0)
      where += " AND x.id < " + std::to_string(p.max_id);
    if (p.min_id > 0) {
      where += " AND x.id > " + std::to_string(p.min_id);
      asc = true;
    } else if (p.since_id > 0) {
      where += " AND x.id > " + std::to_string(p.since_id);
    }
    pqxx::work tx(c);
    auto rows = tx.exec_params("SELECT x.id, x." + other + " FROM " + table + " x WHERE x." + owner + " = $1" + extra +
                                 where + " ORDER BY x.id " + (asc ? "ASC" : "DESC") + " LIMIT " +
                                 std::to_string(std::clamp(p.limit <= 0 ? 40 : p.limit, 1, 80)),
                               account);
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (const auto& r : rows)
      out.emplace_back(r[0].as<std::int64_t>(), r[1].as<std::int64_t>());
    if (asc)
      std::reverse(out.begin(), out.end());
    return out;
  });
}

relationship_row apply_change(pqxx::transaction_base& tx, const relation_item& item) {
  const auto& ch = item.change;
  if (accounts_by_ids(tx, {ch.target}).empty())
    throw failure(errc::not_found, "Record not found");
  switch (ch.verb) {
    case relation_verb::follow: {
      auto o = follow(tx, item.row_id, ch.me, ch.target, ch.reblogs, ch.notify);
      if (o == follow_outcome::blocked)
        throw failure(errc::forbidden, "This action is not allowed");
      if (o == follow_outcome::self)
        throw failure(errc::unprocessable, "Validation failed: You cannot follow yourself");
      break;
    }
    case relation_verb::unfollow: unfollow(tx, ch.me, ch.target); break;
    case relation_verb::block:
      if (ch.me == ch.target)
        throw failure(errc::unprocessable, "Validation failed: You cannot block yourself");
      block(tx, item.row_id, ch.me, ch.target);
      break;
    case relation_verb::unblock: unblock(tx, ch.me, ch.target); break;
    case relation_verb::mute:
      if (ch.me == ch.target)
        throw failure(errc::unprocessable, "Validation failed: You cannot mute yourself");
      mute(tx, item.row_id, ch.me, ch.target, ch.mute_notifications, ch.mute_seconds);
      break;
    case relation_verb::unmute: unmute(tx, ch.me, ch.target); break;
    case relation_verb::authorize:
      if (!authorize_follow(tx, item.row_id, ch.me, ch.target))
        throw failure(errc::not_found, "Record not found");
      break;
    case relation_verb::reject:
      if (!reject_follow(tx, ch.me, ch.target))
        throw failure(errc::not_found, "Record not found");
      break;
  }
  auto rows = relationships(tx, ch.me, {ch.target});
  if (rows.empty())
    throw failure(errc::not_found, "Record not found");
  return rows.front();
}

std::vector<relation_outcome> apply_changes(pqxx::connection_base& c, const std::vector<relation_item>& items) {
  return savepoint_batch<relation_outcome>(c, items, [](pqxx::transaction_base& tx, const relation_item& item,
                                                     relation_outcome& o) { o.row = apply_change(tx, item); });
}

} // namespace chorus::storage::pg
