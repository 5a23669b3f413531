#include "storage/pg/statuses.hpp"
#include "storage/pg/paging.hpp"
#include "storage/pg/ids.hpp"

#include "common/errc.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/conversations.hpp"
#include "storage/pg/feeds.hpp"
#include "storage/pg/jobs.hpp"
#include "storage/pg/notifications.hpp"
#include "storage/pg/savepoint_batch.hpp"

#include <algorithm>
#include <map>
#include <pqxx/pqxx>
#include <set>

namespace chorus::storage::pg {

namespace {

std::string bools(const std::vector<bool>& xs) {
  std::string out = "{";
  for (std::size_t i = 0; i < xs.size(); ++i)
    out += (i ? "," : "") + std::string(xs[i] ? "t" : "f");
  return out + "}";
}

std::vector<status_id> id_query(pqxx::connection_base& c, const std::string& sql_head, const std::string& col,
                                const page& p, const std::string& param = {}) {
  return translated([&] {
    bool asc = false;
    auto where = page_clause(col, p, asc);
    auto sql = sql_head + where + " ORDER BY " + col + (asc ? " ASC" : " DESC") + " LIMIT " +
               std::to_string(clamp_limit(p.limit));
    pqxx::work tx(c);
    auto rows = param.empty() ? tx.exec(sql) : tx.exec_params(sql, param);
    std::vector<status_id> out;
    for (const auto& r : rows)
      out.push_back(r[0].as<status_id>());
    if (asc)
      std::reverse(out.begin(), out.end());
    return out;
  });
}

const char* status_columns =
  "s.id, s.account_id, s.text, s.content, s.spoiler_text, s.sensitive, s.visibility, coalesce(s.language, ''),"
  " coalesce(s.in_reply_to_id, 0), coalesce(s.in_reply_to_account_id, 0), coalesce(s.reblog_of_id, 0),"
  " s.replies_count, s.reblogs_count, s.favourites_count,"
  " to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), s.deleted_at IS NOT NULL,"
  " (SELECT array_agg(m.account_id ORDER BY m.account_id) FROM mentions m WHERE m.status_id = s.id),"
  " (SELECT array_agg(t.tag ORDER BY t.tag) FROM statuses_tags t WHERE t.status_id = s.id),"
  " EXISTS (SELECT 1 FROM favourites f WHERE f.status_id = s.id AND f.account_id = $2),"
  " EXISTS (SELECT 1 FROM statuses r WHERE r.reblog_of_id = s.id AND r.account_id = $2 AND r.deleted_at IS NULL),"
  " EXISTS (SELECT 1 FROM bookmarks b WHERE b.status_id = s.id AND b.account_id = $2),"
  " EXISTS (SELECT 1 FROM follows fo WHERE fo.account_id = $2 AND fo.target_account_id = s.account_id),"
  " EXISTS (SELECT 1 FROM blocks bl WHERE (bl.account_id = s.account_id AND bl.target_account_id = $2)"
  "         OR (bl.account_id = $2 AND bl.target_account_id = s.account_id))";

status_row read_status(const pqxx::row& r) {
  status_row s;
  s.id = r[0].as<status_id>();
  s.account_id = r[1].as<account_id>();
  s.text = r[2].as<std::string>();
  s.content = r[3].as<std::string>();
  s.spoiler_text = r[4].as<std::string>();
  s.sensitive = r[5].as<bool>();
  s.visibility = r[6].as<std::int16_t>();
  s.language = r[7].as<std::string>();
  s.in_reply_to_id = r[8].as<status_id>();
  s.in_reply_to_account_id = r[9].as<account_id>();
  s.reblog_of_id = r[10].as<status_id>();
  s.replies_count = r[11].as<std::int32_t>();
  s.reblogs_count = r[12].as<std::int32_t>();
  s.favourites_count = r[13].as<std::int32_t>();
  s.created_at = r[14].as<std::string>();
  s.deleted = r[15].as<bool>();
  s.mention_ids = ids_of<account_id>(parse_bigint_array(r[16]));
  s.tags = parse_text_array(r[17]);
  s.favourited = r[18].as<bool>();
  s.reblogged = r[19].as<bool>();
  s.bookmarked = r[20].as<bool>();
  s.viewer_follows_author = r[21].as<bool>();
  s.blocked = r[22].as<bool>();
  return s;
}

std::vector<status_row> fetch(pqxx::transaction_base& tx, const std::vector<std::int64_t>& ids, std::int64_t viewer) {
  std::vector<status_row> out;
  if (ids.empty())
    return out;
  auto rows = tx.exec_params(std::string("SELECT ") + status_columns +
                               " FROM statuses s WHERE s.id = ANY($1::bigint[])",
                             bigint_array(ids), viewer);
  std::map<std::int64_t, status_row> by_id;
  for (const auto& r : rows) {
    auto s = read_status(r);
    by_id.emplace(s.id, std::move(s));
  }
  for (auto id : ids) {
    auto it = by_id.find(id);
    if (it != by_id.end())
      out.push_back(it->second);
  }
  return out;
}

} // namespace

std::vector<create_result> insert_statuses(pqxx::transaction_base& tx, const std::vector<new_status>& batch) {
  try {
    std::vector<create_result> results(batch.size());
    // 1. Repeated Idempotency-Keys: earlier statuses, and repeats within this batch.
    //    A key is remembered for an hour (as Mastodon); an older use is forgotten
    //    here so the key can name a new post.
    std::vector<std::int64_t> key_accounts;
    std::vector<std::string> keys;
    for (auto& s : batch)
      if (!s.idempotency_key.empty()) {
        key_accounts.push_back(s.account_id);
        keys.push_back(s.idempotency_key);
      }
    std::map<std::pair<std::int64_t, std::string>, std::int64_t> existing;
    if (!keys.empty())
      tx.exec_params("UPDATE statuses s SET idempotency_key = NULL"
                     " FROM unnest($1::bigint[], $2::text[]) AS k(a, key)"
                     " WHERE s.account_id = k.a AND s.idempotency_key = k.key"
                     " AND s.created_at < now() - interval '1 hour'",
                     bigint_array(key_accounts), text_array(keys));
    if (!keys.empty())
      for (const auto& r : tx.exec_params("SELECT s.account_id, s.idempotency_key, s.id FROM statuses s"
                                          " JOIN unnest($1::bigint[], $2::text[]) AS k(a, key)"
                                          " ON s.account_id = k.a AND s.idempotency_key = k.key",
                                          bigint_array(key_accounts), text_array(keys)))
        existing[{r[0].as<std::int64_t>(), r[1].as<std::string>()}] = r[2].as<std::int64_t>();
    // 2. Parents that exist, are not deleted, and the replier may see.
    std::vector<std::int64_t> parent_ids, repliers, positions;
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (batch[i].in_reply_to_id) {
        parent_ids.push_back(batch[i].in_reply_to_id);
        repliers.push_back(batch[i].account_id);
        positions.push_back(static_cast<std::int64_t>(i));
      }
    std::map<std::int64_t, std::int64_t> parent_author;  // batch position → parent's author
    if (!parent_ids.empty())
      for (const auto& r : tx.exec_params(
             "SELECT u.pos, s.account_id FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(parent, who, pos)"
             " JOIN statuses s ON s.id = u.parent"
             " WHERE s.deleted_at IS NULL AND s.reblog_of_id IS NULL AND (s.account_id = u.who OR ("
             "   NOT EXISTS (SELECT 1 FROM blocks bl WHERE (bl.account_id = s.account_id AND bl.target_account_id = u.who)"
             "     OR (bl.account_id = u.who AND bl.target_account_id = s.account_id))"
             "   AND (s.visibility <= 1"
             "     OR (s.visibility = 2 AND EXISTS (SELECT 1 FROM follows fo WHERE fo.account_id = u.who"
             "         AND fo.target_account_id = s.account_id))"
             "     OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = u.who))))",
             bigint_array(parent_ids), bigint_array(repliers), bigint_array(positions)))
        parent_author[r[0].as<std::int64_t>()] = r[1].as<std::int64_t>();
    // 3. The rows to insert (content, mentions and tags as the caller prepared them).
    std::vector<std::int64_t> ids, accounts, apps, reply_ids, reply_accounts;
    std::vector<std::string> texts, contents, spoilers, languages, ikeys;
    std::vector<bool> sensitive;
    std::vector<std::int64_t> vis;
    std::vector<std::int64_t> m_status, m_account;
    std::vector<std::string> t_name;
    std::vector<std::int64_t> t_status;
    std::map<std::pair<std::int64_t, std::string>, std::int64_t> in_batch;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& s = batch[i];
      if (!s.idempotency_key.empty()) {
        auto key = std::make_pair(s.account_id, s.idempotency_key);
        if (auto it = existing.find(key); it != existing.end()) {
          results[i] = {status_id{it->second}, true, false};
          continue;
        }
        if (auto it = in_batch.find(key); it != in_batch.end()) {
          results[i] = {status_id{it->second}, true, false};
          continue;
        }
        in_batch[key] = s.id;
      }
      std::int64_t reply_account = 0;
      if (s.in_reply_to_id) {
        auto it = parent_author.find(static_cast<std::int64_t>(i));
        if (it == parent_author.end()) {
          results[i] = {status_id{}, false, true};
          continue;
        }
        reply_account = it->second;
      }
      ids.push_back(s.id);
      accounts.push_back(s.account_id);
      apps.push_back(s.application_id);
      reply_ids.push_back(s.in_reply_to_id);
      reply_accounts.push_back(reply_account);
      texts.push_back(s.text);
      contents.push_back(s.content);
      spoilers.push_back(s.spoiler_text);
      languages.push_back(s.language);
      ikeys.push_back(s.idempotency_key);
      sensitive.push_back(s.sensitive);
      vis.push_back(s.visibility);
      for (auto m : s.mention_ids) {
        m_status.push_back(s.id);
        m_account.push_back(m);
      }
      for (auto& t : s.tags) {
        t_name.push_back(t);
        t_status.push_back(s.id);
      }
      results[i] = {s.id, false, false};
    }
    if (ids.empty())
      return results;
    // 4. One INSERT for the batch. A concurrent request with the same key on another
    //    connection may win the race: those rows are skipped here and looked up below.
    auto inserted_rows = tx.exec_params(
      "INSERT INTO statuses (id, account_id, application_id, in_reply_to_id, in_reply_to_account_id, text, content,"
      " spoiler_text, language, idempotency_key, sensitive, visibility)"
      " SELECT id, account_id, NULLIF(app, 0), NULLIF(reply, 0), NULLIF(reply_account, 0), text, content, spoiler,"
      " NULLIF(lang, ''), NULLIF(ikey, ''), sensitive, vis::smallint"
      " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[],"
      " $8::text[], $9::text[], $10::text[], $11::boolean[], $12::bigint[])"
      " AS u(id, account_id, app, reply, reply_account, text, content, spoiler, lang, ikey, sensitive, vis)"
      " ON CONFLICT (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
      " RETURNING id",
      bigint_array(ids), bigint_array(accounts), bigint_array(apps), bigint_array(reply_ids),
      bigint_array(reply_accounts), text_array(texts), text_array(contents), text_array(spoilers),
      text_array(languages), text_array(ikeys), bools(sensitive), bigint_array(vis));
    std::set<std::int64_t> inserted;
    for (const auto& r : inserted_rows)
      inserted.insert(r[0].as<std::int64_t>());
    if (inserted.size() != ids.size()) {
      // Lost an idempotency race to a concurrent transaction: point those requests
      // (and their repeats within this batch) at the winner.
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (results[i].parent_missing || batch[i].idempotency_key.empty() || inserted.count(results[i].id) ||
            existing.count({batch[i].account_id, batch[i].idempotency_key}))
          continue;
        auto r = tx.exec_params1("SELECT id FROM statuses WHERE account_id = $1 AND idempotency_key = $2",
                                 batch[i].account_id, batch[i].idempotency_key);
        results[i] = {r[0].as<status_id>(), true, false};
      }
    }
    // 5. Mentions, tags and counters of what was inserted.
    auto keep = [&](std::vector<std::int64_t>& st, auto& other) {
      std::vector<std::int64_t> s2;
      std::remove_reference_t<decltype(other)> o2;
      for (std::size_t i = 0; i < st.size(); ++i)
        if (inserted.count(st[i])) {
          s2.push_back(st[i]);
          o2.push_back(other[i]);
        }
      st.swap(s2);
      other.swap(o2);
    };
    keep(m_status, m_account);
    keep(t_status, t_name);
    if (!m_status.empty())
      tx.exec_params("INSERT INTO mentions (status_id, account_id) SELECT * FROM unnest($1::bigint[], $2::bigint[])"
                     " ON CONFLICT DO NOTHING",
                     bigint_array(m_status), bigint_array(m_account));
    if (!t_status.empty()) {
      tx.exec_params("INSERT INTO tags (name) SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING",
                     text_array(t_name));
      tx.exec_params("INSERT INTO statuses_tags (tag, status_id) SELECT * FROM unnest($1::text[], $2::bigint[])"
                     " ON CONFLICT DO NOTHING",
                     text_array(t_name), bigint_array(t_status));
    }
    tx.exec_params("UPDATE statuses p SET replies_count = p.replies_count + x.n"
                   " FROM (SELECT in_reply_to_id AS pid, count(*) AS n FROM statuses"
                   "       WHERE id = ANY($1::bigint[]) AND in_reply_to_id IS NOT NULL GROUP BY in_reply_to_id) x"
                   " WHERE p.id = x.pid",
                   bigint_array({inserted.begin(), inserted.end()}));
    tx.exec_params("UPDATE accounts a SET statuses_count = a.statuses_count + x.n, last_status_at = now()"
                   " FROM (SELECT account_id AS aid, count(*) AS n FROM statuses"
                   "       WHERE id = ANY($1::bigint[]) GROUP BY account_id) x"
                   " WHERE a.id = x.aid",
                   bigint_array({inserted.begin(), inserted.end()}));
    return results;
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

std::vector<created_status> create_statuses(pqxx::connection_base& c, const std::vector<new_status>& batch) {
  return translated([&] {
    // One transaction for the whole batch: insert, then load what was created.
    pqxx::work tx(c);
    auto results = insert_statuses(tx, batch);
    std::vector<status_id> ids;
    for (auto& r : results)
      if (r.id && std::find(ids.begin(), ids.end(), r.id) == ids.end())
        ids.push_back(r.id);
    auto loaded = load_statuses(tx, ids, account_id{});
    // Their fan-out commits with them (a durable job; see storage/pg/feeds.hpp).
    // So does a direct status's entry into its conversations (one more row in
    // the same insert, for direct statuses only).
    std::vector<new_job> fanouts;
    // Notifications (mentions, followers asking to be notified) only for the
    // statuses that can make any: one query finds the authors with such followers.
    std::vector<std::int64_t> authors;
    for (std::size_t i = 0; i < results.size(); ++i)
      if (results[i].id && !results[i].replayed && !results[i].parent_missing)
        authors.push_back(batch[i].account_id);
    std::vector<std::int64_t> notified;
    if (!authors.empty())
      for (const auto& r : tx.exec_params("SELECT DISTINCT target_account_id FROM follows"
                                          " WHERE notify AND target_account_id = ANY($1::bigint[])",
                                          bigint_array(authors)))
        notified.push_back(r[0].as<std::int64_t>());
    for (std::size_t i = 0; i < results.size(); ++i) {
      auto& r = results[i];
      if (!r.id || r.replayed || r.parent_missing)
        continue;
      fanouts.push_back(fanout_job(r.id));
      if (batch[i].visibility == static_cast<std::int16_t>(visibility::direct))
        fanouts.push_back(conversation_add_job(r.id));
      if (!batch[i].mention_ids.empty() ||
          std::find(notified.begin(), notified.end(), batch[i].account_id.value()) != notified.end())
        fanouts.push_back(notify_job({"status.created", 0, 0, r.id, r.id, 0}));
    }
    enqueue_jobs(tx, fanouts);
    tx.commit();
    std::vector<created_status> out;
    out.reserve(batch.size());
    for (auto& r : results) {
      created_status cs;
      cs.result = r;
      for (auto& s : loaded.statuses)
        if (s.id == r.id) {
          cs.bundle.statuses.push_back(s);
          for (auto id : s.mention_ids)
            if (auto it = loaded.accounts.find(id); it != loaded.accounts.end())
              cs.bundle.accounts.emplace(id, it->second);
          if (auto it = loaded.accounts.find(s.account_id); it != loaded.accounts.end())
            cs.bundle.accounts.emplace(s.account_id, it->second);
          break;
        }
      out.push_back(std::move(cs));
    }
    return out;
  });
}

bool visible_to(const status_row& s, std::int64_t viewer) {
  if (s.deleted)
    return false;
  if (viewer == 0)
    return s.visibility <= static_cast<std::int16_t>(visibility::unlisted);
  if (viewer == s.account_id)
    return true;
  if (s.blocked)
    return false;
  if (s.visibility <= static_cast<std::int16_t>(visibility::unlisted))
    return true;
  // Private: followers and the mentioned. Direct: the mentioned.
  if (s.visibility == static_cast<std::int16_t>(visibility::private_) && s.viewer_follows_author)
    return true;
  return std::find(s.mention_ids.begin(), s.mention_ids.end(), viewer) != s.mention_ids.end();
}

void keep_visible(status_bundle& b, std::int64_t viewer) {
  std::vector<status_row> kept;
  kept.reserve(b.statuses.size());
  for (auto& s : b.statuses) {
    if (!visible_to(s, viewer))
      continue;
    if (s.reblog_of_id) {
      auto it = b.reblogged.find(s.reblog_of_id);
      if (it == b.reblogged.end() || !visible_to(it->second, viewer))
        continue;
    }
    kept.push_back(std::move(s));
  }
  b.statuses.swap(kept);
}

status_bundle load_statuses(pqxx::connection_base& c, const std::vector<status_id>& ids, account_id viewer) {
  return translated([&] {
    pqxx::work tx(c);
    return load_statuses(tx, ids, viewer);
  });
}

status_bundle load_statuses(pqxx::transaction_base& tx, const std::vector<status_id>& ids, account_id viewer) {
  return translated([&] {
    status_bundle b;
    b.statuses = fetch(tx, raw_ids(ids), viewer);
    std::vector<std::int64_t> originals;
    for (auto& s : b.statuses)
      if (s.reblog_of_id)
        originals.push_back(s.reblog_of_id);
    for (auto& o : fetch(tx, originals, viewer))
      b.reblogged.emplace(o.id, o);
    std::set<std::int64_t> account_ids;
    auto collect = [&](const status_row& s) {
      account_ids.insert(s.account_id);
      account_ids.insert(s.mention_ids.begin(), s.mention_ids.end());
    };
    for (auto& s : b.statuses)
      collect(s);
    for (auto& [id, s] : b.reblogged)
      collect(s);
    for (auto& a : accounts_by_ids(tx, {account_ids.begin(), account_ids.end()}))
      b.accounts.emplace(a.id, a);
    return b;
  });
}

namespace {
// Hides authors the viewer blocks, mutes or is blocked by.
std::string not_hidden_from(std::int64_t viewer) {
  if (viewer == 0)
    return {};
  auto v = std::to_string(viewer);
  return " AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE (bl.account_id = " + v +
         " AND bl.target_account_id = s.account_id) OR (bl.account_id = s.account_id AND bl.target_account_id = " + v +
         "))"
         " AND NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = " + v +
         " AND mu.target_account_id = s.account_id AND (mu.expires_at IS NULL OR mu.expires_at > now()))";
}
} // namespace

std::vector<status_id> public_timeline(pqxx::connection_base& c, std::int64_t viewer, const page& p) {
  return id_query(c,
                  "SELECT s.id FROM statuses s WHERE s.deleted_at IS NULL AND s.visibility = 0"
                  " AND s.reblog_of_id IS NULL" +
                    not_hidden_from(viewer),
                  "s.id", p);
}

std::vector<status_id> tag_timeline(pqxx::connection_base& c, const std::string& tag, std::int64_t viewer,
                                       const page& p) {
  return id_query(c,
                  "SELECT s.id FROM statuses_tags t JOIN statuses s ON s.id = t.status_id"
                  " WHERE t.tag = lower($1) AND s.deleted_at IS NULL AND s.visibility = 0" +
                    not_hidden_from(viewer),
                  "s.id", p, tag);
}

std::string home_sql(std::int64_t viewer, const page& p, int limit, bool with_authors) {
  // One bounded index-only range scan per followed account (and the viewer) on
  // statuses_by_account, then the newest `limit` of those: the cost depends on
  // how many accounts are followed, not on how deep the page is. Blocks, mutes
  // and show_reblogs depend only on the author, so they filter the accounts,
  // not the statuses (anti-joins inside the scan would defeat its LIMIT).
  bool asc = false;
  auto where = page_clause("s.id", p, asc);
  auto v = std::to_string(viewer);
  auto n = std::to_string(limit);
  const char* dir = asc ? " ASC" : " DESC";
  auto followed = "(SELECT fo.target_account_id FROM follows fo WHERE fo.account_id = " + v + ")";
  return std::string("SELECT t.id") + (with_authors ? ", t.account_id, coalesce(o.account_id, 0)" : "") +
         " FROM (SELECT " + v + "::bigint AS account, true AS show_reblogs"
         " UNION ALL SELECT fo.target_account_id, fo.show_reblogs FROM follows fo WHERE fo.account_id = " + v +
         " AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE (bl.account_id = " + v +
         " AND bl.target_account_id = fo.target_account_id) OR (bl.account_id = fo.target_account_id"
         " AND bl.target_account_id = " + v + "))"
         " AND NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.account_id = " + v +
         " AND mu.target_account_id = fo.target_account_id AND (mu.expires_at IS NULL OR mu.expires_at > now()))) a"
         " CROSS JOIN LATERAL (SELECT s.id, s.account_id, s.reblog_of_id FROM statuses s"
         " WHERE s.account_id = a.account AND s.deleted_at IS NULL" + where +
         " AND (s.reblog_of_id IS NULL OR a.show_reblogs)"
         " AND (s.visibility <> 3 OR a.account = " + v +
         " OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = " + v + "))"
         " AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id IN (s.account_id, " + v +
         ") OR s.in_reply_to_account_id IN " + followed + ")"
         " ORDER BY s.id" + dir + " LIMIT " + n + ") t" +
         (with_authors ? " LEFT JOIN statuses o ON o.id = t.reblog_of_id" : "") +
         " ORDER BY t.id" + dir + " LIMIT " + n;
}

std::vector<status_id> home_timeline(pqxx::connection_base& c, std::int64_t viewer, const page& p) {
  return translated([&] {
    bool asc = p.min_id > 0;  // as page_clause decides
    pqxx::work tx(c);
    std::vector<status_id> out;
    for (const auto& r : tx.exec(home_sql(viewer, p, clamp_limit(p.limit), false)))
      out.push_back(r[0].as<status_id>());
    if (asc)
      std::reverse(out.begin(), out.end());
    return out;
  });
}

std::vector<status_id> account_statuses(pqxx::connection_base& c, std::int64_t account, std::int64_t viewer,
                                           const page& p, bool exclude_replies, bool exclude_reblogs) {
  std::string sql = "SELECT s.id FROM statuses s WHERE s.account_id = " + std::to_string(account) +
                    " AND s.deleted_at IS NULL AND s.visibility <> 3";
  if (viewer != account) {
    auto v = std::to_string(viewer);
    sql += " AND (s.visibility IN (0, 1)"
           " OR (s.visibility = 2 AND EXISTS (SELECT 1 FROM follows fo WHERE fo.account_id = " + v +
           " AND fo.target_account_id = s.account_id))"
           " OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = " + v + "))"
           " AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE (bl.account_id = s.account_id AND bl.target_account_id = " +
           v + ") OR (bl.account_id = " + v + " AND bl.target_account_id = s.account_id))";
  }
  if (exclude_replies)
    sql += " AND (s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)";
  if (exclude_reblogs)
    sql += " AND s.reblog_of_id IS NULL";
  return id_query(c, sql, "s.id", p);
}

std::pair<std::vector<status_id>, std::vector<status_id>> context(pqxx::connection_base& c, std::int64_t id) {
  return translated([&] {
    pqxx::work tx(c);
    std::vector<status_id> up, down;
    for (const auto& r : tx.exec_params(
           "WITH RECURSIVE up(id, parent, depth) AS ("
           "  SELECT id, in_reply_to_id, 0 FROM statuses WHERE id = $1"
           "  UNION ALL SELECT s.id, s.in_reply_to_id, up.depth + 1 FROM statuses s JOIN up ON s.id = up.parent"
           "  WHERE up.depth < 100)"
           " SELECT id FROM up WHERE id <> $1 ORDER BY depth DESC",
           id))
      up.push_back(r[0].as<status_id>());
    for (const auto& r : tx.exec_params(
           "WITH RECURSIVE down(id, path) AS ("
           "  SELECT id, ARRAY[id] FROM statuses WHERE in_reply_to_id = $1 AND deleted_at IS NULL"
           "  UNION ALL SELECT s.id, down.path || s.id FROM statuses s JOIN down ON s.in_reply_to_id = down.id"
           "  WHERE s.deleted_at IS NULL AND array_length(down.path, 1) < 100)"
           " SELECT id FROM down ORDER BY path LIMIT 4000",
           id))
      down.push_back(r[0].as<status_id>());
    return std::make_pair(up, down);
  });
}

namespace {
// (cursor, value) pairs, newest first, keyset-paginated on the cursor column.
std::vector<std::pair<std::int64_t, std::int64_t>> pairs_query(pqxx::connection_base& c, const std::string& head,
                                                               const std::string& cursor_col, const page& p,
                                                               std::int64_t param) {
  return translated([&] {
    bool asc = false;
    auto where = page_clause(cursor_col, p, asc);
    pqxx::work tx(c);
    auto rows = tx.exec_params(head + where + " ORDER BY " + cursor_col + (asc ? " ASC" : " DESC") + " LIMIT " +
                                 std::to_string(clamp_limit(p.limit)),
                               param);
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (const auto& r : rows)
      out.emplace_back(r[0].as<std::int64_t>(), r[1].as<std::int64_t>());
    if (asc)
      std::reverse(out.begin(), out.end());
    return out;
  });
}

std::vector<std::pair<std::int64_t, std::int64_t>> own_marks(pqxx::connection_base& c, const std::string& table,
                                                             std::int64_t account, const page& p) {
  return pairs_query(c,
                     "SELECT x.id, x.status_id FROM " + table +
                       " x JOIN statuses s ON s.id = x.status_id AND s.deleted_at IS NULL WHERE x.account_id = $1",
                     "x.id", p, account);
}
} // namespace

std::vector<std::pair<std::int64_t, std::int64_t>> favourites_of(pqxx::connection_base& c, std::int64_t account,
                                                                 const page& p) {
  return own_marks(c, "favourites", account, p);
}

std::vector<std::pair<std::int64_t, std::int64_t>> bookmarks_of(pqxx::connection_base& c, std::int64_t account,
                                                                const page& p) {
  return own_marks(c, "bookmarks", account, p);
}

std::vector<std::pair<std::int64_t, std::int64_t>> favourited_by(pqxx::connection_base& c, std::int64_t status,
                                                                 const page& p) {
  return pairs_query(c, "SELECT f.id, f.account_id FROM favourites f WHERE f.status_id = $1", "f.id", p, status);
}

std::vector<std::pair<std::int64_t, std::int64_t>> reblogged_by(pqxx::connection_base& c, std::int64_t status,
                                                                const page& p) {
  return pairs_query(c, "SELECT r.id, r.account_id FROM statuses r WHERE r.reblog_of_id = $1 AND r.deleted_at IS NULL",
                     "r.id", p, status);
}

bool favourite(pqxx::transaction_base& tx, std::int64_t fav_id, std::int64_t account, std::int64_t status) {
  return translated([&] {
    auto r = tx.exec_params("WITH ins AS (INSERT INTO favourites (id, account_id, status_id) VALUES ($1, $2, $3)"
                            " ON CONFLICT DO NOTHING RETURNING status_id)"
                            " UPDATE statuses SET favourites_count = favourites_count + 1"
                            " WHERE id IN (SELECT status_id FROM ins) RETURNING 1",
                            fav_id, account, status);
    return !r.empty();
  });
}

void unfavourite(pqxx::transaction_base& tx, std::int64_t account, std::int64_t status) {
  translated([&] {
    tx.exec_params("WITH del AS (DELETE FROM favourites WHERE account_id = $1 AND status_id = $2 RETURNING status_id)"
                   " UPDATE statuses SET favourites_count = greatest(favourites_count - 1, 0)"
                   " WHERE id IN (SELECT status_id FROM del)",
                   account, status);
    return 0;
  });
}

void bookmark(pqxx::transaction_base& tx, std::int64_t id, std::int64_t account, std::int64_t status) {
  translated([&] {
    tx.exec_params("INSERT INTO bookmarks (id, account_id, status_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", id,
                   account, status);
    return 0;
  });
}

void unbookmark(pqxx::transaction_base& tx, std::int64_t account, std::int64_t status) {
  translated([&] {
    tx.exec_params("DELETE FROM bookmarks WHERE account_id = $1 AND status_id = $2", account, status);
    return 0;
  });
}

std::int64_t reblog(pqxx::transaction_base& tx, std::int64_t new_id, std::int64_t account, std::int64_t status,
                    std::int16_t vis) {
  return translated([&] {
    auto ins = tx.exec_params("INSERT INTO statuses (id, account_id, reblog_of_id, visibility) VALUES ($1, $2, $3, $4)"
                              " ON CONFLICT (account_id, reblog_of_id) WHERE reblog_of_id IS NOT NULL"
                              " AND deleted_at IS NULL DO NOTHING RETURNING id",
                              new_id, account, status, vis);
    std::int64_t id = 0;
    if (!ins.empty()) {
      id = ins[0][0].as<std::int64_t>();
      tx.exec_params("UPDATE statuses SET reblogs_count = reblogs_count + 1 WHERE id = $1", status);
      tx.exec_params("UPDATE accounts SET statuses_count = statuses_count + 1, last_status_at = now() WHERE id = $1",
                     account);
    } else {
      id = tx.exec_params1("SELECT id FROM statuses WHERE account_id = $1 AND reblog_of_id = $2 AND deleted_at IS NULL",
                           account, status)[0]
             .as<std::int64_t>();
    }
    return id;
  });
}

std::int64_t unreblog(pqxx::transaction_base& tx, std::int64_t account, std::int64_t status) {
  return translated([&] {
    auto r = tx.exec_params("UPDATE statuses SET deleted_at = now() WHERE account_id = $1 AND reblog_of_id = $2"
                            " AND deleted_at IS NULL RETURNING id",
                            account, status);
    if (!r.empty()) {
      tx.exec_params("UPDATE statuses SET reblogs_count = greatest(reblogs_count - 1, 0) WHERE id = $1", status);
      tx.exec_params("UPDATE accounts SET statuses_count = greatest(statuses_count - 1, 0) WHERE id = $1", account);
    }
    return r.empty() ? std::int64_t{0} : r[0][0].as<std::int64_t>();
  });
}

bool delete_status(pqxx::transaction_base& tx, std::int64_t account, std::int64_t status) {
  return translated([&] {
    auto r = tx.exec_params("UPDATE statuses SET deleted_at = now() WHERE id = $1 AND account_id = $2"
                            " AND deleted_at IS NULL AND reblog_of_id IS NULL RETURNING in_reply_to_id",
                            status, account);
    if (r.empty())
      return false;
    if (!r[0][0].is_null())
      tx.exec_params("UPDATE statuses SET replies_count = greatest(replies_count - 1, 0) WHERE id = $1",
                     r[0][0].as<std::int64_t>());
    tx.exec_params("UPDATE accounts SET statuses_count = greatest(statuses_count - 1, 0) WHERE id = $1", account);
    // Reblogs of a deleted status go with it.
    tx.exec_params("WITH gone AS (UPDATE statuses SET deleted_at = now() WHERE reblog_of_id = $1"
                   " AND deleted_at IS NULL RETURNING account_id)"
                   " UPDATE accounts a SET statuses_count = greatest(a.statuses_count - 1, 0)"
                   " FROM gone WHERE a.id = gone.account_id",
                   status);
    return true;
  });
}

std::int64_t takedown_status(pqxx::transaction_base& tx, std::int64_t status) {
  return translated([&] {
    auto r = tx.exec_params("SELECT account_id, reblog_of_id IS NOT NULL FROM statuses WHERE id = $1 AND deleted_at IS NULL",
                            status);
    if (r.empty())
      return std::int64_t{0};
    auto author = r[0][0].as<std::int64_t>();
    bool removed = r[0][1].as<bool>() ? unreblog(tx, author, tx.exec_params("SELECT reblog_of_id FROM statuses WHERE id = $1",
                                                                            status)[0][0].as<std::int64_t>()) != 0
                                      : delete_status(tx, author, status);
    return removed ? author : std::int64_t{0};
  });
}

status_bundle apply_action(pqxx::transaction_base& tx, const action_item& item, std::int64_t& removed_id) {
  const auto& a = item.action;
  status_bundle out;
  if (a.verb == status_verb::takedown) {
    if (!takedown_status(tx, a.id))
      throw failure(errc::not_found, "Record not found");
    out = load_statuses(tx, {a.id}, account_id{});
    if (!out.statuses.empty()) {
      std::vector<new_job> jobs{revoke_job({a.id}, out.statuses.front().account_id)};
      if (out.statuses.front().visibility == static_cast<std::int16_t>(visibility::direct))
        jobs.push_back(conversation_remove_job(a.id));
      enqueue_jobs(tx, jobs);
    }
    return out;
  }
  out = load_statuses(tx, {a.id}, a.viewer);
  keep_visible(out, a.viewer);
  if (out.statuses.empty())
    throw failure(errc::not_found, "Record not found");
  auto& target = out.statuses.front();
  if (target.reblog_of_id && a.verb != status_verb::remove)
    throw failure(errc::not_found, "Record not found");  // act on the original, not on a reblog
  switch (a.verb) {
    case status_verb::favourite:
      if (favourite(tx, item.new_id, a.viewer, a.id) && target.account_id != a.viewer)  // a new favourite notifies the author
        enqueue_jobs(tx, {notify_job({"favourite", target.account_id, a.viewer, a.id, item.new_id, 0})});
      break;
    case status_verb::unfavourite: unfavourite(tx, a.viewer, a.id); break;
    case status_verb::bookmark: bookmark(tx, item.new_id, a.viewer, a.id); break;
    case status_verb::unbookmark: unbookmark(tx, a.viewer, a.id); break;
    case status_verb::unreblog:
      removed_id = unreblog(tx, a.viewer, a.id);
      if (removed_id)
        enqueue_jobs(tx, {revoke_job({removed_id}, a.viewer)});
      break;
    case status_verb::reblog: {
      bool own = target.account_id == a.viewer;
      if (target.visibility >= 3 || (target.visibility == 2 && !own))
        throw failure(errc::forbidden, "This status cannot be reblogged");
      auto id = reblog(tx, item.new_id, a.viewer, a.id, a.visibility);
      if (id == item.new_id)  // a new reblog (an existing one is returned as it is); notifies the author
        enqueue_jobs(tx, own ? std::vector<new_job>{fanout_job(id)}
                             : std::vector<new_job>{fanout_job(id), notify_job({"status.created", 0, 0, id, id, 0})});
      return load_statuses(tx, {status_id{id}}, a.viewer);
    }
    case status_verb::remove:
      if (target.account_id != a.viewer || !delete_status(tx, a.viewer, a.id))
        throw failure(errc::not_found, "Record not found");
      if (target.visibility == static_cast<std::int16_t>(visibility::direct))
        enqueue_jobs(tx, {revoke_job({a.id}, a.viewer), conversation_remove_job(a.id)});
      else
        enqueue_jobs(tx, {revoke_job({a.id}, a.viewer)});
      return out;  // the status as it was, with its source text (Mastodon's redraft)
    case status_verb::takedown: break;  // handled above
  }
  return load_statuses(tx, {a.id}, a.viewer);
}

std::vector<action_outcome> apply_actions(pqxx::connection_base& c, const std::vector<action_item>& items) {
  return savepoint_batch<action_outcome>(c, items, [](pqxx::transaction_base& tx, const action_item& item,
                                                   action_outcome& o) { o.bundle = apply_action(tx, item, o.removed_id); });
}

} // namespace chorus::storage::pg
