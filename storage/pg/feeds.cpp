#include "storage/pg/feeds.hpp"
#include "storage/pg/ids.hpp"

#include "common/clock.hpp"
#include "storage/pg/connection.hpp"

#include <algorithm>
#include <pqxx/pqxx>

namespace chorus::storage::pg {
namespace {

feed_entry read_entry(const pqxx::row& r) {
  return {r[0].as<status_id>(), r[1].as<account_id>(), r[2].as<account_id>()};
}

// Columns (id, author, origin author) of `statuses s` joined with its original `o`.
const char* entry_columns = "s.id, s.account_id, coalesce(o.account_id, 0)";

std::vector<fanout_post> read_posts(const pqxx::result& rows) {
  std::vector<fanout_post> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back({read_entry(r), r[3].as<std::int64_t>(), r[4].as<std::int16_t>(), parse_bigint_array(r[5])});
  return out;
}

// Statuses as fan-out sees them (entry, reply target, visibility, mentions),
// selected and ordered by `where_order` over `statuses s` (parameters $1 and $2).
template <class P1, class P2>
std::vector<fanout_post> post_rows(pqxx::connection_base& c, const std::string& where_order, const P1& p1, const P2& p2) {
  return translated([&] {
    pqxx::work tx(c);
    return read_posts(tx.exec_params(std::string("SELECT ") + entry_columns +
                                       ", coalesce(s.in_reply_to_account_id, 0), s.visibility,"
                                       " (SELECT array_agg(m.account_id) FROM mentions m WHERE m.status_id = s.id)"
                                       " FROM statuses s LEFT JOIN statuses o ON o.id = s.reblog_of_id WHERE " +
                                       where_order,
                                     p1, p2));
  });
}

} // namespace

fanout_targets fanout_recipients(pqxx::connection_base& c, const fanout_post& post, std::int64_t max_followers,
                                 int active_days) {
  return translated([&] {
    pqxx::work tx(c);
    fanout_targets out;
    auto author = post.entry.author;
    auto count = tx.exec_params("SELECT followers_count FROM accounts WHERE id = $1", author);
    if (count.empty())
      return out;
    out.followers = count[0][0].as<std::int64_t>();
    out.recipients.push_back(author);  // one's own posts always reach one's own timeline
    bool direct = post.visibility == 3;
    if (out.followers > max_followers && !direct)
      return out;
    std::string sql =
      "SELECT f.account_id FROM follows f JOIN users u ON u.account_id = f.account_id"
      " WHERE f.target_account_id = $1::bigint"
      " AND greatest(u.last_active_at, u.last_sign_in_at, u.created_at) > now() - make_interval(days => $2)"
      " AND ($3::bigint = 0 OR f.show_reblogs)"
      " AND ($4::bigint = 0 OR $4::bigint = $1::bigint OR f.account_id = $4::bigint"
      "      OR EXISTS (SELECT 1 FROM follows f2 WHERE f2.account_id = f.account_id AND f2.target_account_id = $4::bigint))"
      " AND NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = f.account_id"
      "      AND mu.target_account_id IN ($1::bigint, $3::bigint) AND (mu.expires_at IS NULL OR mu.expires_at > now()))"
      " AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE (bl.account_id = f.account_id AND bl.target_account_id IN ($1::bigint, $3::bigint))"
      "      OR (bl.target_account_id = f.account_id AND bl.account_id IN ($1::bigint, $3::bigint)))";
    if (direct)
      sql += " AND f.account_id = ANY($5::bigint[])";
    else
      sql += " AND $5::bigint[] IS NOT NULL";
    auto rows = tx.exec_params(sql, author, active_days, post.entry.origin_author, post.in_reply_to_account,
                               bigint_array(post.mentions));
    out.recipients.reserve(rows.size() + 1);
    for (const auto& r : rows)
      out.recipients.push_back(r[0].as<std::int64_t>());
    tx.commit();
    return out;
  });
}

std::vector<feed_entry> rebuild_home(pqxx::connection_base& c, std::int64_t viewer, int limit) {
  return translated([&] {
    pqxx::work tx(c);
    auto rows = tx.exec(home_sql(viewer, page{}, limit, true));
    std::vector<feed_entry> out;
    out.reserve(rows.size());
    for (const auto& r : rows)
      out.push_back(read_entry(r));
    return out;
  });
}

std::vector<ring_entry> recent_of_author(pqxx::connection_base& c, std::int64_t author, int limit) {
  std::vector<ring_entry> out;
  for (auto& p : post_rows(c, "s.account_id = $1 AND s.deleted_at IS NULL AND s.visibility <> 3 ORDER BY s.id DESC LIMIT $2",
                           author, limit))
    out.push_back({p.entry, account_id{p.in_reply_to_account}, p.visibility});
  return out;
}

std::int64_t followers_count(pqxx::connection_base& c, std::int64_t account) {
  return translated([&] {
    pqxx::work tx(c);
    auto r = tx.exec_params("SELECT followers_count FROM accounts WHERE id = $1", account);
    return r.empty() ? std::int64_t{0} : r[0][0].as<std::int64_t>();
  });
}

feed_snapshot load_snapshot(pqxx::connection_base& c, std::int64_t viewer, int max_following) {
  return translated([&] {
    pqxx::work tx(c);
    feed_snapshot out;
    for (const auto& r : tx.exec_params("SELECT f.target_account_id, a.followers_count, f.show_reblogs"
                                        " FROM follows f JOIN accounts a ON a.id = f.target_account_id"
                                        " WHERE f.account_id = $1 ORDER BY f.id DESC LIMIT $2",
                                        viewer, max_following))
      out.following.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<bool>()});
    for (const auto& r : tx.exec_params("SELECT target_account_id FROM blocks WHERE account_id = $1"
                                        " UNION SELECT account_id FROM blocks WHERE target_account_id = $1"
                                        " UNION SELECT target_account_id FROM mutes WHERE account_id = $1"
                                        " AND (expires_at IS NULL OR expires_at > now())",
                                        viewer))
      out.hidden.push_back(r[0].as<std::int64_t>());
    return out;
  });
}

std::vector<std::int64_t> hidden_accounts(pqxx::connection_base& c, std::int64_t viewer) {
  return translated([&] {
    pqxx::work tx(c);
    std::vector<std::int64_t> out;
    for (const auto& r : tx.exec_params("SELECT target_account_id FROM blocks WHERE account_id = $1"
                                        " UNION SELECT account_id FROM blocks WHERE target_account_id = $1"
                                        " UNION SELECT target_account_id FROM mutes WHERE account_id = $1"
                                        " AND (expires_at IS NULL OR expires_at > now())",
                                        viewer))
      out.push_back(r[0].as<std::int64_t>());
    return out;
  });
}

viewer_flags load_flags(pqxx::connection_base& c, account_id viewer, const std::vector<status_id>& ids) {
  viewer_flags out;
  if (ids.empty())
    return out;
  return translated([&] {
    pqxx::work tx(c);
    auto rows = tx.exec_params("SELECT 0, status_id FROM favourites WHERE account_id = $1 AND status_id = ANY($2::bigint[])"
                               " UNION ALL SELECT 1, reblog_of_id FROM statuses WHERE account_id = $1"
                               " AND reblog_of_id = ANY($2::bigint[]) AND deleted_at IS NULL"
                               " UNION ALL SELECT 2, status_id FROM bookmarks WHERE account_id = $1"
                               " AND status_id = ANY($2::bigint[])",
                               viewer, bigint_array(ids));
    for (const auto& r : rows) {
      auto id = r[1].as<std::int64_t>();
      switch (r[0].as<int>()) {
        case 0: out.favourited.push_back(id); break;
        case 1: out.reblogged.push_back(id); break;
        default: out.bookmarked.push_back(id); break;
      }
    }
    return out;
  });
}

removal_targets removal_recipients(pqxx::connection_base& c, const std::vector<status_id>& ids) {
  return translated([&] {
    pqxx::work tx(c);
    removal_targets out;
    auto arr = bigint_array(ids);
    for (const auto& r : tx.exec_params(std::string("SELECT ") + entry_columns +
                                          " FROM statuses s LEFT JOIN statuses o ON o.id = s.reblog_of_id"
                                          " WHERE s.id = ANY($1::bigint[]) OR s.reblog_of_id = ANY($1::bigint[])",
                                        arr))
      out.entries.push_back(read_entry(r));
    std::vector<std::int64_t> authors;
    for (auto& e : out.entries)
      authors.push_back(e.author);
    std::sort(authors.begin(), authors.end());
    authors.erase(std::unique(authors.begin(), authors.end()), authors.end());
    for (const auto& r : tx.exec_params("SELECT DISTINCT account_id FROM follows WHERE target_account_id = ANY($1::bigint[])"
                                        " UNION SELECT unnest($1::bigint[])",
                                        bigint_array(authors)))
      out.accounts.push_back(r[0].as<std::int64_t>());
    return out;
  });
}

std::vector<fanout_post> posts_by_ids(pqxx::connection_base& c, const std::vector<std::int64_t>& ids) {
  if (ids.empty())
    return {};
  return post_rows(c, "s.id = ANY($1::bigint[]) AND s.deleted_at IS NULL ORDER BY s.id LIMIT $2", bigint_array(ids),
                   static_cast<std::int64_t>(ids.size()));
}

namespace {

new_job feed_job(const char* kind, std::string payload, std::string unique_key) {
  new_job j;
  j.queue = feed_queue;
  j.kind = kind;
  j.payload = std::move(payload);
  j.unique_key = std::move(unique_key);
  j.max_attempts = 10;
  return j;
}

} // namespace

new_job fanout_job(std::int64_t status_id) {
  auto id = std::to_string(status_id);
  return feed_job(fanout_kind, "{\"status\":" + id + ",\"at\":" + std::to_string(wall_now_ms()) + "}", "fanout:" + id);
}

new_job revoke_job(const std::vector<std::int64_t>& ids, std::int64_t author) {
  std::string list;
  for (auto id : ids)
    list += (list.empty() ? "" : ",") + std::to_string(id);
  return feed_job(revoke_kind,
                  "{\"ids\":[" + list + "],\"author\":" + std::to_string(author) + ",\"at\":" + std::to_string(wall_now_ms()) + "}",
                  "revoke:" + list);
}

void touch_active(pqxx::connection_base& c, const std::vector<std::int64_t>& accounts) {
  if (accounts.empty())
    return;
  translated([&] {
    pqxx::work tx(c);
    tx.exec_params("UPDATE users SET last_active_at = now() WHERE account_id = ANY($1::bigint[])"
                   " AND (last_active_at IS NULL OR last_active_at < now() - interval '1 hour')",
                   bigint_array(accounts));
    tx.commit();
    return 0;
  });
}

} // namespace chorus::storage::pg
