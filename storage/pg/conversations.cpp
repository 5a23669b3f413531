#include "storage/pg/conversations.hpp"
#include "storage/pg/ids.hpp"

#include "storage/pg/connection.hpp"
#include "storage/pg/feeds.hpp"
#include "storage/pg/paging.hpp"

#include <algorithm>
#include <pqxx/pqxx>

namespace chorus::storage::pg {
namespace {

// The thread key of a status: the root of its reply chain (at most 100 up, as
// the context query), whether or not the statuses on the way still exist.
std::int64_t thread_root(pqxx::transaction_base& tx, status_id s) {
  auto r = tx.exec_params1("WITH RECURSIVE up(id, parent, depth) AS ("
                           "  SELECT id, in_reply_to_id, 0 FROM statuses WHERE id = $1"
                           "  UNION ALL SELECT p.id, p.in_reply_to_id, up.depth + 1 FROM statuses p"
                           "  JOIN up ON p.id = up.parent WHERE up.depth < 100)"
                           " SELECT id FROM up ORDER BY depth DESC LIMIT 1",
                           s);
  return r[0].as<std::int64_t>();
}

const char* conversation_columns = "id, account_id, participant_account_ids, last_status_id, unread";

conversation read_conversation(const pqxx::row& r) {
  conversation c;
  c.id = r[0].as<conversation_id>();
  c.account_id = r[1].as<account_id>();
  c.participants = ids_of<account_id>(parse_bigint_array(r[2]));
  c.last_status_id = r[3].as<status_id>();
  c.unread = r[4].as<bool>();
  return c;
}

std::vector<conversation_touch> touches(const pqxx::result& rows) {
  std::vector<conversation_touch> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back({r[0].as<account_id>(), r[1].as<conversation_id>()});
  return out;
}

new_job conversation_job(const char* kind, status_id s) {
  new_job j;
  j.queue = feed_queue;
  j.kind = kind;
  j.payload = "{\"status\":" + std::to_string(s.value()) + "}";
  j.unique_key = std::string(kind) + ":" + std::to_string(s.value());
  j.max_attempts = 10;
  return j;
}

} // namespace

std::vector<conversation_touch> add_to_conversations(pqxx::connection_base& c, status_id s,
                                                     const std::function<std::int64_t()>& next_id) {
  return translated([&] {
    pqxx::work tx(c);
    // FOR SHARE: a delete of the status waits for this transaction, so its
    // removal job sees the rows written here.
    auto st = tx.exec_params("SELECT s.account_id,"
                             " ARRAY(SELECT m.account_id FROM mentions m WHERE m.status_id = s.id ORDER BY 1)"
                             " FROM statuses s WHERE s.id = $1 AND s.deleted_at IS NULL AND s.visibility = 3"
                             " AND s.reblog_of_id IS NULL FOR SHARE",
                             s);
    if (st.empty())
      return std::vector<conversation_touch>{};
    auto author = st[0][0].as<std::int64_t>();
    auto mentioned = parse_bigint_array(st[0][1]);
    std::vector<std::int64_t> participants = mentioned;
    participants.push_back(author);
    std::sort(participants.begin(), participants.end());
    participants.erase(std::unique(participants.begin(), participants.end()), participants.end());
    auto root = thread_root(tx, s);
    // Recipients: the author, and the mentioned accounts with no block either way.
    std::vector<std::int64_t> recipients{author};
    for (const auto& r : tx.exec_params("SELECT m FROM unnest($1::bigint[]) AS m WHERE m <> $2"
                                        " AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE"
                                        " (bl.account_id = m AND bl.target_account_id = $2)"
                                        " OR (bl.account_id = $2 AND bl.target_account_id = m))",
                                        bigint_array(mentioned), author))
      recipients.push_back(r[0].as<std::int64_t>());
    std::vector<std::int64_t> ids;
    ids.reserve(recipients.size());
    for (std::size_t i = 0; i < recipients.size(); ++i)
      ids.push_back(next_id());
    // One statement for all participants. A row that already holds the status
    // (the job ran before) is left alone and not returned. The newest status
    // decides `unread` (read for its author); one that arrives late from someone
    // else can only make it unread.
    auto rows = tx.exec_params(
      "INSERT INTO account_conversations AS ac"
      " (id, account_id, conversation_id, participant_account_ids, status_ids, last_status_id, unread)"
      " SELECT u.id, u.account, $3, ARRAY(SELECT p FROM unnest($4::bigint[]) AS p WHERE p <> u.account ORDER BY p),"
      " ARRAY[$5::bigint], $5, u.account <> $6"
      " FROM unnest($1::bigint[], $2::bigint[]) AS u(id, account)"
      " ON CONFLICT (account_id, conversation_id, participant_account_ids) DO UPDATE"
      " SET status_ids = (SELECT array_agg(x ORDER BY x) FROM unnest(ac.status_ids || $5::bigint) AS x),"
      " last_status_id = greatest(ac.last_status_id, $5),"
      " unread = CASE WHEN $5 > ac.last_status_id THEN EXCLUDED.unread ELSE ac.unread OR EXCLUDED.unread END"
      " WHERE NOT ($5 = ANY(ac.status_ids))"
      " RETURNING ac.account_id, ac.id",
      bigint_array(ids), bigint_array(recipients), root, bigint_array(participants), s, author);
    auto out = touches(rows);
    tx.commit();
    return out;
  });
}

std::vector<conversation_touch> remove_from_conversations(pqxx::connection_base& c, status_id s) {
  return translated([&] {
    pqxx::work tx(c);
    auto exists = tx.exec_params("SELECT 1 FROM statuses WHERE id = $1", s);
    if (exists.empty())
      return std::vector<conversation_touch>{};
    auto root = thread_root(tx, s);
    tx.exec_params("DELETE FROM account_conversations WHERE conversation_id = $1 AND status_ids = ARRAY[$2::bigint]",
                   root, s);
    auto rows = tx.exec_params("UPDATE account_conversations SET status_ids = array_remove(status_ids, $2),"
                               " last_status_id = (SELECT max(x) FROM unnest(array_remove(status_ids, $2)) AS x)"
                               " WHERE conversation_id = $1 AND $2 = ANY(status_ids)"
                               " RETURNING account_id, id",
                               root, s);
    auto out = touches(rows);
    tx.commit();
    return out;
  });
}

std::vector<conversation> conversations_page(pqxx::connection_base& c, account_id viewer, const page& p) {
  return translated([&] {
    bool asc = false;
    auto where = page_clause("last_status_id", p, asc);
    pqxx::work tx(c);
    auto rows = tx.exec_params(std::string("SELECT ") + conversation_columns +
                                 " FROM account_conversations WHERE account_id = $1" + where +
                                 " ORDER BY last_status_id" + (asc ? " ASC" : " DESC") + " LIMIT " +
                                 std::to_string(clamp_limit(p.limit)),
                               viewer);
    std::vector<conversation> out;
    out.reserve(rows.size());
    for (const auto& r : rows)
      out.push_back(read_conversation(r));
    if (asc)
      std::reverse(out.begin(), out.end());
    return out;
  });
}

std::vector<conversation> conversations_by_ids(pqxx::connection_base& c, account_id viewer,
                                               const std::vector<conversation_id>& ids) {
  return translated([&] {
    std::vector<conversation> out;
    if (ids.empty())
      return out;
    pqxx::work tx(c);
    auto rows = tx.exec_params(std::string("SELECT ") + conversation_columns +
                                 " FROM account_conversations WHERE account_id = $1 AND id = ANY($2::bigint[])",
                               viewer, bigint_array(ids));
    for (auto id : ids)
      for (const auto& r : rows)
        if (r[0].as<conversation_id>() == id)
          out.push_back(read_conversation(r));
    return out;
  });
}

bool delete_conversation(pqxx::connection_base& c, account_id viewer, conversation_id id) {
  return translated([&] {
    pqxx::work tx(c);
    auto r = tx.exec_params("DELETE FROM account_conversations WHERE id = $1 AND account_id = $2", id, viewer);
    tx.commit();
    return r.affected_rows() > 0;
  });
}

std::optional<conversation> mark_conversation_read(pqxx::connection_base& c, account_id viewer, conversation_id id) {
  return translated([&]() -> std::optional<conversation> {
    pqxx::work tx(c);
    auto r = tx.exec_params(std::string("UPDATE account_conversations SET unread = false WHERE id = $1 AND account_id = $2"
                                        " RETURNING ") + conversation_columns,
                            id, viewer);
    tx.commit();
    if (r.empty())
      return std::nullopt;
    return read_conversation(r[0]);
  });
}

conversation_bundle hydrate_conversations(pqxx::connection_base& c, account_id viewer, std::vector<conversation> rows,
                                          bool drop_hidden) {
  return translated([&] {
    conversation_bundle out;
    if (rows.empty())
      return out;
    pqxx::work tx(c);
    std::vector<status_id> last;
    std::vector<std::int64_t> people{viewer.value()};
    for (auto& r : rows) {
      last.push_back(r.last_status_id);
      for (auto p : r.participants)
        people.push_back(p.value());
    }
    out.bundle = load_statuses(tx, last, viewer);
    keep_visible(out.bundle, viewer);
    std::sort(people.begin(), people.end());
    people.erase(std::unique(people.begin(), people.end()), people.end());
    std::vector<std::int64_t> blocked;
    for (const auto& r : tx.exec_params("SELECT a FROM unnest($2::bigint[]) AS a WHERE EXISTS (SELECT 1 FROM blocks bl"
                                        " WHERE (bl.account_id = $1 AND bl.target_account_id = a)"
                                        " OR (bl.account_id = a AND bl.target_account_id = $1))",
                                        viewer, bigint_array(people)))
      blocked.push_back(r[0].as<std::int64_t>());
    std::vector<std::int64_t> missing;
    for (auto p : people)
      if (!out.bundle.accounts.count(account_id{p}) && !std::count(blocked.begin(), blocked.end(), p))
        missing.push_back(p);
    for (auto& a : accounts_by_ids(tx, missing))
      out.bundle.accounts.emplace(a.id, a);
    for (auto& r : rows) {
      if (drop_hidden && std::none_of(out.bundle.statuses.begin(), out.bundle.statuses.end(),
                                      [&](const status_row& s) { return s.id == r.last_status_id; }))
        continue;
      auto& ps = r.participants;
      ps.erase(std::remove_if(ps.begin(), ps.end(),
                              [&](account_id a) { return std::count(blocked.begin(), blocked.end(), a.value()) > 0; }),
               ps.end());
      out.items.push_back(std::move(r));
    }
    return out;
  });
}

std::vector<status_id> direct_timeline(pqxx::connection_base& c, account_id viewer, const page& p) {
  return translated([&] {
    bool asc = false;
    auto where = page_clause("s.id", p, asc);
    auto n = std::to_string(clamp_limit(p.limit));
    auto dir = std::string(asc ? " ASC" : " DESC");
    // Two bounded index scans (own statuses by account, mentions by account),
    // then the newest `limit` of both.
    auto sql =
      "SELECT id FROM ("
      " (SELECT s.id FROM statuses s WHERE s.account_id = $1 AND s.deleted_at IS NULL AND s.visibility = 3"
      "  AND s.reblog_of_id IS NULL" + where + " ORDER BY s.id" + dir + " LIMIT " + n + ")"
      " UNION"
      " (SELECT s.id FROM mentions m JOIN statuses s ON s.id = m.status_id WHERE m.account_id = $1"
      "  AND s.deleted_at IS NULL AND s.visibility = 3 AND s.reblog_of_id IS NULL" + where +
      "  AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE (bl.account_id = $1 AND bl.target_account_id = s.account_id)"
      "   OR (bl.account_id = s.account_id AND bl.target_account_id = $1))"
      "  ORDER BY m.status_id" + dir + " LIMIT " + n + ")"
      ") d ORDER BY id" + dir + " LIMIT " + n;
    pqxx::work tx(c);
    std::vector<status_id> out;
    for (const auto& r : tx.exec_params(sql, viewer))
      out.push_back(r[0].as<status_id>());
    if (asc)
      std::reverse(out.begin(), out.end());
    return out;
  });
}

new_job conversation_add_job(status_id s) { return conversation_job(conversation_add_kind, s); }
new_job conversation_remove_job(status_id s) { return conversation_job(conversation_remove_kind, s); }

} // namespace chorus::storage::pg
