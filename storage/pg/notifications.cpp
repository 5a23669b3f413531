#include "storage/pg/notifications.hpp"
#include "storage/pg/ids.hpp"

#include "common/clock.hpp"
#include "common/errc.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/statuses.hpp"

#include <algorithm>
#include <unordered_set>
#include <limits>
#include <pqxx/pqxx>

namespace chorus::storage::pg {
namespace {

using model::notification;

// A new time-sortable id (milliseconds << 16, a sequence in the low bits), as the SQL expression.
const char* new_id_sql =
  "((floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint << 16) | (nextval('notifications_id_seq') % 65536))";

const char* iso = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'";

std::string ts(const std::string& col) { return "to_char(" + col + " AT TIME ZONE 'UTC', " + iso + ")"; }

// Columns of `notifications n`, read by read_notification.
std::string columns() {
  return "n.id, n.type, " + ts("n.created_at") +
         ", n.account_id, n.from_account_id, coalesce(n.status_id, 0), coalesce(n.group_key, ''), n.filtered";
}

notification read_notification(const pqxx::row& r) {
  notification n;
  n.id = r[0].as<notification_id>();
  n.type = r[1].as<std::string>();
  n.created_at = r[2].as<std::string>();
  n.account_id = r[3].as<account_id>();
  n.from_account_id = r[4].as<account_id>();
  n.status = r[5].as<status_id>();
  n.group_key = r[6].as<std::string>();
  n.filtered = r[7].as<bool>();
  return n;
}

// What a notification `n` needs to be shown: its sender not disabled (Mastodon
// destroys such notifications; we hide them on read). Undone activities and
// deleted statuses take their notifications with them when they go (triggers of
// migration 0013), so no read checks them.
const char* visible_sql = " AND NOT EXISTS (SELECT 1 FROM users vu WHERE vu.account_id = n.from_account_id AND vu.disabled)";

int clamp(int limit, int dflt = 40, int max = 80) { return std::clamp(limit <= 0 ? dflt : limit, 1, max); }

std::vector<std::string> effective_types(const notification_filter& f) {
  std::vector<std::string> out;
  for (auto& t : f.types.empty() ? notification_types() : f.types)
    if (known_notification_type(t) && std::find(f.exclude_types.begin(), f.exclude_types.end(), t) == f.exclude_types.end() &&
        std::find(out.begin(), out.end(), t) == out.end())
      out.push_back(t);
  return out;
}

// "n.account_id = $1 AND n.type = ANY($2) AND ($3 = 0 OR n.from_account_id = $3) …" (+ visibility).
// Conditions that cannot apply are left out of the text (their parameters are
// still bound), so each variant's generic plan fits it (see `variant`).
std::string base_where(const notification_filter& f) {
  bool some_types = !f.types.empty() || !f.exclude_types.empty();
  return std::string("n.account_id = $1") +
         (some_types ? " AND n.type = ANY($2::text[])" : " AND $2::text[] IS NOT NULL") +
         (f.from ? " AND n.from_account_id = $3::bigint" : " AND $3::bigint = 0") +
         (f.include_filtered ? "" : " AND NOT n.filtered") + visible_sql;
}

// The page's id bounds as parameters (so the statement text, hence the prepared
// statement, is the same for every page): ids below `hi` and above `lo`.
std::int64_t upper_bound(const model::page& p) {
  return p.max_id > 0 ? p.max_id : std::numeric_limits<std::int64_t>::max();
}
std::int64_t lower_bound(const model::page& p) {
  return p.min_id > 0 ? p.min_id : p.since_id > 0 ? p.since_id : 0;
}

// Runs `sql` as the connection's prepared statement `name` (prepared on first
// use per connection; libpqxx re-prepares after a reconnect): no parsing or
// planning per request. The endpoints' statements are few and fixed: their
// variable parts are parameters, the variants have their own names.
template <class... Args>
pqxx::result prepared(pqxx::transaction_base& tx, const std::string& name, const std::string& sql, Args&&... args) {
  tx.conn().prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

// A statement's name per shape of the query: the same text, but a filter by type
// or by sender gets its own name, so Postgres keeps a plan for it (one that uses
// the by-type or by-sender index) apart from the plain poll's.
std::string variant(const char* name, const notification_filter& f, bool asc) {
  bool some_types = !f.types.empty() || !f.exclude_types.empty();
  return std::string("chorus.notif.") + name + (asc ? ".asc" : ".desc") + (f.include_filtered ? ".all" : ".shown") +
         (some_types ? ".types" : "") + (f.from ? ".from" : "");
}

std::int64_t notifications_marker(pqxx::transaction_base& tx, account_id viewer) {
  auto r = prepared(tx, "chorus.notif.marker",
                    "SELECT last_read_id FROM markers WHERE account_id = $1 AND timeline = 'notifications'", viewer);
  return r.empty() ? 0 : r[0][0].as<std::int64_t>();
}

// Grouped types as Mastodon normalises them: the groupable ones asked for, or all groupable ones.
std::vector<std::string> normal_grouped(const std::vector<std::string>& asked) {
  std::vector<std::string> out;
  for (auto& t : {"admin.sign_up", "favourite", "follow", "reblog"})
    if (asked.empty() || std::find(asked.begin(), asked.end(), t) != asked.end())
      out.emplace_back(t);
  return out;
}

const char* group_key_sql =
  "CASE WHEN n.group_key IS NOT NULL AND n.type = ANY($4::text[]) THEN n.group_key ELSE 'ungrouped-' || n.id END";

// Mastodon's group pagination: walks notifications in `asc`/desc order from the
// page bounds, keeping the first of each group key, until `limit` groups.
std::vector<notification> group_walk(pqxx::transaction_base& tx, account_id viewer, const notification_filter& f,
                                     const std::vector<std::string>& grouped, std::int64_t hi, std::int64_t lo, int limit,
                                     bool asc) {
  auto where = base_where(f) + " AND n.id < $6 AND n.id > $7";
  std::string dir = asc ? "ASC" : "DESC";
  std::string sql =
    "WITH RECURSIVE g(id, groups) AS ("
    " (SELECT n.id, ARRAY[" + std::string(group_key_sql) + "] FROM notifications n WHERE " + where +
    "  ORDER BY n.id " + dir + " LIMIT 1)"
    " UNION ALL"
    " SELECT nx.id, wt.groups || nx.gk FROM g wt CROSS JOIN LATERAL ("
    "  SELECT n.id, " + group_key_sql + " AS gk FROM notifications n WHERE " + where +
    "  AND n.id " + (asc ? ">" : "<") + " wt.id AND NOT (" + group_key_sql + " = ANY(wt.groups))"
    "  ORDER BY n.id " + dir + " LIMIT 1) nx"
    " WHERE array_length(wt.groups, 1) < $5)"
    " SELECT " + columns() + " FROM g JOIN notifications n ON n.id = g.id ORDER BY n.id DESC";
  auto rows = prepared(tx, variant("walk", f, asc), sql, viewer, text_array(effective_types(f)), f.from,
                       text_array(grouped), limit, hi, lo);
  std::vector<notification> out;
  for (const auto& r : rows)
    out.push_back(read_notification(r));
  return out;
}

// Group metadata for `items` (their representatives): counts and samples up to
// `hi`, the oldest id of each group from `lo` (lo < 0: not paginated).
std::vector<model::notification_group> group_data(pqxx::transaction_base& tx, account_id viewer,
                                                  const std::vector<notification>& items,
                                                  const std::vector<std::string>& grouped, std::int64_t lo,
                                                  std::int64_t hi) {
  std::vector<std::string> keys;
  for (auto& n : items)
    if (!n.group_key.empty() && std::find(grouped.begin(), grouped.end(), n.type) != grouped.end())
      keys.push_back(n.group_key);
  struct data {
    std::int64_t count = 0, most_recent = 0, min_id = 0;
    std::vector<std::int64_t> sample;
  };
  std::unordered_map<std::string, data> by_key;
  if (!keys.empty()) {
    std::string in_group = " FROM notifications n WHERE n.account_id = $1 AND n.group_key = k.key AND n.id <= $3";
    auto rows = prepared(tx, "chorus.notif.groups",
      "SELECT k.key,"
      " (SELECT count(*)" + in_group + visible_sql + "),"
      " (SELECT n.id" + in_group + visible_sql + " ORDER BY n.id DESC LIMIT 1),"
      " array(SELECT n.from_account_id" + in_group + visible_sql + " ORDER BY n.id DESC LIMIT 8),"
      " (SELECT n.id" + in_group + " AND n.id >= $4" + visible_sql + " ORDER BY n.id ASC LIMIT 1)"
      " FROM unnest($2::text[]) AS k(key)",
      viewer, text_array(keys), hi, std::max<std::int64_t>(lo, 0));
    for (const auto& r : rows) {
      data d;
      d.count = r[1].as<std::int64_t>();
      d.most_recent = r[2].is_null() ? 0 : r[2].as<std::int64_t>();
      d.sample = parse_bigint_array(r[3]);
      d.min_id = r[4].is_null() ? 0 : r[4].as<std::int64_t>();
      by_key[r[0].as<std::string>()] = d;
    }
  }
  std::vector<model::notification_group> out;
  for (auto& n : items) {
    model::notification_group g;
    g.type = n.type;
    g.status = n.status;
    g.latest_page_notification_at = n.created_at;
    auto it = n.group_key.empty() ? by_key.end() : by_key.find(n.group_key);
    if (it != by_key.end()) {
      g.group_key = n.group_key;
      g.notifications_count = std::max<std::int64_t>(it->second.count, 1);
      g.most_recent_notification_id = notification_id{it->second.most_recent ? it->second.most_recent : n.id.value()};
      for (auto a : it->second.sample)
        g.sample_account_ids.push_back(account_id{a});
      if (lo >= 0) {
        g.page_min_id = notification_id{it->second.min_id ? it->second.min_id : n.id.value()};
        g.page_max_id = n.id;
      }
    } else {
      g.group_key = "ungrouped-" + std::to_string(n.id.value());
      g.notifications_count = 1;
      g.most_recent_notification_id = n.id;
      g.sample_account_ids = {n.from_account_id};
      if (lo >= 0) {
        g.page_min_id = n.id;
        g.page_max_id = n.id;
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

// "ungrouped-<id>" → id; 0 otherwise.
std::int64_t ungrouped_id(const std::string& key) {
  static const std::string prefix = "ungrouped-";
  if (key.compare(0, prefix.size(), prefix) != 0)
    return 0;
  std::int64_t v = 0;
  for (std::size_t i = prefix.size(); i < key.size(); ++i) {
    if (key[i] < '0' || key[i] > '9' || v > (std::numeric_limits<std::int64_t>::max() - 9) / 10)
      return -1;
    v = v * 10 + (key[i] - '0');
  }
  return key.size() > prefix.size() ? v : -1;
}

// The group key of a new, unfiltered, groupable notification: the prefix
// (favourite-<status>, reblog-<status>, follow, admin.sign_up) and an hour
// bucket, reusing the recipient's latest bucket of that prefix when it began
// less than 12 hours before (Mastodon's rule).
std::string new_group_key(pqxx::transaction_base& tx, std::int64_t recipient, const std::string& type,
                          std::int64_t status, std::int64_t at_ms) {
  std::string prefix = (type == "favourite" || type == "reblog") ? type + "-" + std::to_string(status) : type;
  std::int64_t hour = (at_ms > 0 ? at_ms : wall_now_ms()) / 3'600'000;
  std::vector<std::string> recent;
  for (std::int64_t h = hour - 11; h <= hour; ++h)
    recent.push_back(prefix + "-" + std::to_string(h));
  auto r = tx.exec_params("SELECT n.group_key FROM notifications n WHERE n.account_id = $1 AND n.group_key = ANY($2::text[])"
                          " ORDER BY n.id DESC LIMIT 1",
                          recipient, text_array(recent));
  return r.empty() ? prefix + "-" + std::to_string(hour) : r[0][0].as<std::string>();
}

struct candidate {
  std::int64_t recipient = 0;
  std::string type;
  std::int64_t status = 0;
  std::int64_t activity = 0;
};

// Policy values: 0 accept, 1 filter, 2 drop.
int policy_level(const std::string& v) { return v == "drop" ? 2 : v == "filter" ? 1 : 0; }

bool filterable(const std::string& type) {
  return type != "admin.sign_up" && type != "admin.report" && type != "poll" && type != "update" &&
         type != "moderation_warning" && type != "annual_report";
}

// Whether status `reply_to`'s thread (up to 100 ancestors) holds a direct status
// of `recipient` mentioning `sender`: a private mention answering the recipient.
bool response_to_recipient(pqxx::transaction_base& tx, std::int64_t reply_to, std::int64_t recipient,
                           std::int64_t sender) {
  if (!reply_to)
    return false;
  return tx.exec_params1(
           "WITH RECURSIVE anc(id, parent, depth) AS ("
           "  SELECT s.id, s.in_reply_to_id, 0 FROM statuses s WHERE s.id = $1"
           "  UNION ALL SELECT s.id, s.in_reply_to_id, anc.depth + 1 FROM anc JOIN statuses s ON s.id = anc.parent"
           "  WHERE anc.depth < 100)"
           " SELECT EXISTS (SELECT 1 FROM anc JOIN statuses s ON s.id = anc.id"
           "  JOIN mentions m ON m.status_id = s.id AND m.account_id = $3"
           "  WHERE s.account_id = $2 AND s.visibility = 3)",
           reply_to, recipient, sender)[0]
    .as<bool>();
}

} // namespace

// ---- Creation ---------------------------------------------------------------------

const std::vector<std::string>& notification_types() {
  static const std::vector<std::string> all = {"mention", "status", "reblog", "follow", "follow_request", "favourite",
                                               "poll", "update", "admin.sign_up", "admin.report",
                                               "severed_relationships", "moderation_warning", "annual_report",
                                               "quote", "quoted_update"};
  return all;
}

bool known_notification_type(const std::string& type) {
  auto& all = notification_types();
  return std::find(all.begin(), all.end(), type) != all.end();
}

bool groupable_type(const std::string& type) {
  return type == "favourite" || type == "reblog" || type == "follow" || type == "admin.sign_up";
}

std::string notify_payload(const notify_event& ev) {
  return "{\"type\":\"" + ev.type + "\",\"to\":" + std::to_string(ev.recipient) + ",\"from\":" +
         std::to_string(ev.from) + ",\"status\":" + std::to_string(ev.status) + ",\"activity\":" +
         std::to_string(ev.activity) + ",\"at\":" + std::to_string(ev.at_ms ? ev.at_ms : wall_now_ms()) + "}";
}

new_job notify_job(const notify_event& ev) {
  new_job j;
  j.queue = notification_queue;
  j.kind = notify_kind;
  j.payload = notify_payload(ev);
  j.unique_key = "n:" + ev.type + ":" + std::to_string(ev.activity) + ":" + std::to_string(ev.recipient);
  j.max_attempts = 10;
  return j;
}

void enqueue_moderation_warning(pqxx::transaction_base& tx, std::int64_t recipient, std::int64_t moderator,
                                std::int64_t warning_id) {
  enqueue_jobs(tx, {notify_job({"moderation_warning", recipient, moderator, 0, warning_id, 0})});
}

std::vector<notification> deliver(pqxx::connection_base& c, const notify_event& ev) {
  return translated([&] {
    pqxx::work tx(c);
    std::vector<candidate> cands;
    std::int64_t from = ev.from;
    bool direct = false;
    std::int64_t reply_to = 0;
    if (ev.type == "status.created") {
      auto r = tx.exec_params("SELECT s.account_id, s.visibility, coalesce(s.reblog_of_id, 0),"
                              " coalesce(s.in_reply_to_account_id, 0), coalesce(s.in_reply_to_id, 0),"
                              " (SELECT array_agg(m.account_id) FROM mentions m WHERE m.status_id = s.id),"
                              " coalesce(o.account_id, 0)"
                              " FROM statuses s LEFT JOIN statuses o ON o.id = s.reblog_of_id AND o.deleted_at IS NULL"
                              " WHERE s.id = $1 AND s.deleted_at IS NULL",
                              ev.status);
      if (r.empty())
        return std::vector<notification>{};
      from = r[0][0].as<std::int64_t>();
      auto vis = r[0][1].as<int>();
      auto reblog_of = r[0][2].as<std::int64_t>();
      auto reply_account = r[0][3].as<std::int64_t>();
      reply_to = r[0][4].as<std::int64_t>();
      direct = vis == 3;
      if (reblog_of) {
        if (auto original_author = r[0][6].as<std::int64_t>())
          cands.push_back({original_author, "reblog", reblog_of, ev.status});
      } else {
        for (auto m : parse_bigint_array(r[0][5]))
          cands.push_back({m, "mention", ev.status, ev.status});
        if (!direct && (reply_account == 0 || reply_account == from))
          for (const auto& f : tx.exec_params("SELECT account_id FROM follows WHERE target_account_id = $1 AND notify", from))
            cands.push_back({f[0].as<std::int64_t>(), "status", ev.status, ev.status});
      }
    } else if (ev.type == "admin.sign_up") {
      for (const auto& a : tx.exec("SELECT account_id FROM users WHERE admin AND NOT disabled"))
        cands.push_back({a[0].as<std::int64_t>(), ev.type, 0, ev.activity ? ev.activity : ev.from});
    } else {
      cands.push_back({ev.recipient, ev.type, ev.status, ev.activity});
    }
    std::vector<notification> out;
    if (cands.empty())
      return out;
    // The activity must still be there, and stay until this commits: undoing it
    // deletes its notifications (migration 0013's triggers), which waits for these
    // locks, so a job running after or during the undo leaves nothing behind.
    // Lock order, against the undo paths (no cycle): the favourite, follow or
    // request row first (an unfavourite deletes it before updating the status's
    // counter), then the one status each notification depends on: the status it
    // is about, or for a reblog only the reblog itself (unreblog and deleting the
    // original both update the reblog before the original's counters or after
    // the original; deleting the original deletes its reblogs too, which waits
    // here and then takes the reblog notification along).
    const char* activity_lock =
      ev.type == "favourite" ? "SELECT 1 FROM favourites WHERE account_id = $1 AND id = $2 FOR KEY SHARE"
      : ev.type == "follow" ? "SELECT 1 FROM follows WHERE account_id = $1 AND id = $2 FOR KEY SHARE"
      : ev.type == "follow_request" ? "SELECT 1 FROM follow_requests WHERE account_id = $1 AND id = $2 FOR KEY SHARE"
                                    : nullptr;
    if (activity_lock && tx.exec_params(activity_lock, from, ev.activity).empty())
      return out;  // undone before the job ran
    {
      std::vector<std::int64_t> ids;
      auto locked = [](const candidate& cd) { return cd.type == "reblog" ? cd.activity : cd.status; };
      for (auto& cd : cands)
        if (locked(cd))
          ids.push_back(locked(cd));
      if (!ids.empty()) {
        std::unordered_set<std::int64_t> alive;
        for (const auto& r : tx.exec_params("SELECT id FROM statuses WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL"
                                            " ORDER BY id FOR SHARE",
                                            bigint_array(ids)))
          alive.insert(r[0].as<std::int64_t>());
        cands.erase(std::remove_if(cands.begin(), cands.end(),
                                   [&](const candidate& cd) { return locked(cd) && !alive.count(locked(cd)); }),
                    cands.end());
        if (cands.empty())
          return out;
      }
    }
    auto sender = tx.exec_params("SELECT a.created_at > now() - interval '30 days',"
                                 " EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id AND u.disabled),"
                                 " EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id AND u.admin)"
                                 " FROM accounts a WHERE a.id = $1",
                                 from);
    if (sender.empty() || sender[0][1].as<bool>())
      return out;  // the sender is gone or suspended
    bool sender_new = sender[0][0].as<bool>();
    bool sender_staff = sender[0][2].as<bool>();  // Mastodon: staff's mentions are never filtered by policy
    std::vector<std::int64_t> recipients;
    for (auto& cd : cands)
      recipients.push_back(cd.recipient);
    struct facts {
      bool local = false, blocked = false, muted = false, permitted = false, following = false, old_follower = false;
      std::string not_following, not_followers, new_accounts, private_mentions;
    };
    std::unordered_map<std::int64_t, facts> by_recipient;
    for (const auto& r : tx.exec_params(
           "SELECT r.id,"
           " EXISTS (SELECT 1 FROM users u WHERE u.account_id = r.id AND NOT u.disabled),"
           " EXISTS (SELECT 1 FROM blocks b WHERE (b.account_id = r.id AND b.target_account_id = $2)"
           "         OR (b.account_id = $2 AND b.target_account_id = r.id)),"
           " EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = r.id AND m.target_account_id = $2"
           "         AND m.hide_notifications AND (m.expires_at IS NULL OR m.expires_at > now())),"
           " EXISTS (SELECT 1 FROM notification_permissions np WHERE np.account_id = r.id AND np.from_account_id = $2),"
           " EXISTS (SELECT 1 FROM follows f WHERE f.account_id = r.id AND f.target_account_id = $2),"
           " EXISTS (SELECT 1 FROM follows f WHERE f.account_id = $2 AND f.target_account_id = r.id"
           "         AND f.created_at <= now() - interval '3 days'),"
           " coalesce(p.for_not_following, 'accept'), coalesce(p.for_not_followers, 'accept'),"
           " coalesce(p.for_new_accounts, 'accept'), coalesce(p.for_private_mentions, 'filter')"
           " FROM (SELECT DISTINCT unnest($1::bigint[]) AS id) r LEFT JOIN notification_policies p ON p.account_id = r.id",
           bigint_array(recipients), from)) {
      facts f;
      f.local = r[1].as<bool>();
      f.blocked = r[2].as<bool>();
      f.muted = r[3].as<bool>();
      f.permitted = r[4].as<bool>();
      f.following = r[5].as<bool>();
      f.old_follower = r[6].as<bool>();
      f.not_following = r[7].as<std::string>();
      f.not_followers = r[8].as<std::string>();
      f.new_accounts = r[9].as<std::string>();
      f.private_mentions = r[10].as<std::string>();
      by_recipient[r[0].as<std::int64_t>()] = f;
    }
    struct {
      std::vector<std::int64_t> recipient, status, activity;
      std::vector<std::string> type, key, filtered;
    } rows;
    for (auto& cd : cands) {
      auto& f = by_recipient[cd.recipient];
      if (!f.local || f.blocked || f.muted)
        continue;
      if (cd.recipient == from && cd.type != "moderation_warning")
        continue;  // self-actions never notify
      int level = 0;  // accept
      if (filterable(cd.type) && !f.permitted && !(sender_staff && cd.type == "mention")) {
        bool not_following = !f.following;
        auto rule = [&](const std::string& policy, bool applies) {
          if (applies)
            level = std::max(level, policy_level(policy));
        };
        rule(f.not_following, not_following);
        rule(f.not_followers, !f.old_follower);
        rule(f.new_accounts, sender_new && not_following);
        if (cd.type == "mention" && direct && not_following && policy_level(f.private_mentions) > 0)
          rule(f.private_mentions, !response_to_recipient(tx, reply_to, cd.recipient, from));
        // for_limited_accounts: Chorus has no limited (silenced) accounts yet, so it never applies.
      }
      if (level == 2)
        continue;  // drop: nothing is stored
      bool filtered = level == 1;
      rows.recipient.push_back(cd.recipient);
      rows.type.push_back(cd.type);
      rows.status.push_back(cd.status);
      rows.activity.push_back(cd.activity);
      rows.key.push_back(!filtered && groupable_type(cd.type) ? new_group_key(tx, cd.recipient, cd.type, cd.status, ev.at_ms)
                                                             : "");
      rows.filtered.push_back(filtered ? "t" : "f");
    }
    if (rows.recipient.empty())
      return out;
    // Every notification of the event in one statement (a status with hundreds
    // of followers asking to be notified is one insert, not hundreds).
    auto ins = tx.exec_params(std::string("INSERT INTO notifications AS n (id, account_id, from_account_id, type, status_id,"
                                          " activity_id, group_key, filtered) SELECT ") +
                                new_id_sql +
                                ", r.recipient, $1::bigint, r.type, NULLIF(r.status, 0), r.activity, NULLIF(r.key, ''), r.filtered"
                                " FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::boolean[])"
                                " AS r(recipient, type, status, activity, key, filtered)"
                                " ON CONFLICT (account_id, type, activity_id) DO NOTHING RETURNING " + columns(),
                              from, bigint_array(rows.recipient), text_array(rows.type), bigint_array(rows.status),
                              bigint_array(rows.activity), text_array(rows.key), text_array(rows.filtered));
    for (const auto& r : ins)
      out.push_back(read_notification(r));  // already notified (a retried job): not returned
    std::sort(out.begin(), out.end(), [](const notification& a, const notification& b) { return a.id < b.id; });
    for (auto& n : out)
      if (n.filtered)
        tx.exec_params(std::string("INSERT INTO notification_requests (id, account_id, from_account_id, last_status_id,"
                                   " notifications_count) VALUES (") +
                         new_id_sql +
                         ", $1, $2, NULLIF($3::bigint, 0), 1) ON CONFLICT (account_id, from_account_id) DO UPDATE SET"
                         " last_status_id = coalesce(EXCLUDED.last_status_id, notification_requests.last_status_id),"
                         " notifications_count = CASE WHEN notification_requests.dismissed THEN 1"
                         "   ELSE notification_requests.notifications_count + 1 END,"
                         " dismissed = false, updated_at = now()",
                       n.account_id, from, n.type == "mention" ? n.status.value() : 0);
    tx.commit();
    return out;
  });
}

namespace {

model::status_bundle hydrate_ids(pqxx::transaction_base& tx, std::vector<status_id> statuses,
                                 const std::vector<account_id>& accounts, account_id viewer) {
  std::sort(statuses.begin(), statuses.end());
  statuses.erase(std::unique(statuses.begin(), statuses.end()), statuses.end());
  statuses.erase(std::remove(statuses.begin(), statuses.end(), status_id{}), statuses.end());
  auto b = statuses.empty() ? model::status_bundle{} : load_statuses(tx, statuses, viewer);
  std::vector<std::int64_t> missing;
  for (auto a : accounts)
    if (!b.accounts.count(a) && std::find(missing.begin(), missing.end(), a.value()) == missing.end())
      missing.push_back(a.value());
  if (!missing.empty())
    for (auto& a : accounts_by_ids(tx, missing))
      b.accounts.emplace(a.id, a);
  return b;
}

} // namespace

model::status_bundle hydrate(pqxx::transaction_base& tx, std::vector<status_id> statuses,
                             std::vector<account_id> accounts, account_id viewer) {
  return hydrate_ids(tx, std::move(statuses), accounts, viewer);
}

model::status_bundle hydrate(pqxx::connection_base& c, std::vector<status_id> statuses,
                             std::vector<account_id> accounts, account_id viewer) {
  return translated([&] {
    pqxx::work tx(c);
    return hydrate_ids(tx, std::move(statuses), accounts, viewer);
  });
}

viewer_extras load_viewer_extras(pqxx::transaction_base& tx, std::vector<status_id> statuses,
                                 std::vector<account_id> accounts, account_id viewer) {
  viewer_extras out;
  std::vector<std::int64_t> sids, aids;
  for (auto s : statuses)
    if (s.value() && std::find(sids.begin(), sids.end(), s.value()) == sids.end())
      sids.push_back(s.value());
  for (auto a : accounts)
    if (a.value() && std::find(aids.begin(), aids.end(), a.value()) == aids.end())
      aids.push_back(a.value());
  if (!aids.empty())
    for (auto& a : accounts_by_ids(tx, aids))
      out.accounts.emplace(a.id, a);
  if (!sids.empty())
    for (const auto& r : prepared(tx, "chorus.notif.flags",
                                  "SELECT 0, status_id FROM favourites WHERE account_id = $1 AND status_id = ANY($2::bigint[])"
                                  " UNION ALL SELECT 1, reblog_of_id FROM statuses WHERE account_id = $1"
                                  " AND reblog_of_id = ANY($2::bigint[]) AND deleted_at IS NULL"
                                  " UNION ALL SELECT 2, status_id FROM bookmarks WHERE account_id = $1"
                                  " AND status_id = ANY($2::bigint[])",
                                  viewer, bigint_array(sids))) {
      auto id = r[1].as<std::int64_t>();
      switch (r[0].as<int>()) {
        case 0: out.favourited.push_back(id); break;
        case 1: out.reblogged.push_back(id); break;
        default: out.bookmarked.push_back(id); break;
      }
    }
  return out;
}

void apply_viewer_extras(model::status_bundle& b, viewer_extras&& x) {
  auto has = [](const std::vector<std::int64_t>& v, status_id id) {
    return std::find(v.begin(), v.end(), id.value()) != v.end();
  };
  auto fill = [&](model::status& s) {
    s.favourited = has(x.favourited, s.id);
    s.reblogged = has(x.reblogged, s.id);
    s.bookmarked = has(x.bookmarked, s.id);
  };
  for (auto& s : b.statuses)
    fill(s);
  for (auto& [id, s] : b.reblogged)
    fill(s);
  for (auto& [id, a] : x.accounts)
    b.accounts.insert_or_assign(id, std::move(a));
}

// ---- Reads and writes -----------------------------------------------------------------

std::vector<notification> list_notifications(pqxx::transaction_base& tx, account_id viewer, const notification_filter& f,
                                             const model::page& p) {
  return translated([&] {
    bool asc = p.min_id > 0;
    auto rows = prepared(tx, variant("list", f, asc),
                         "SELECT " + columns() + " FROM notifications n WHERE " + base_where(f) +
                           " AND n.id < $4 AND n.id > $5 ORDER BY n.id " + (asc ? "ASC" : "DESC") + " LIMIT $6",
                         viewer, text_array(effective_types(f)), f.from, upper_bound(p), lower_bound(p), clamp(p.limit));
    std::vector<notification> out;
    for (const auto& r : rows)
      out.push_back(read_notification(r));
    if (asc)
      std::reverse(out.begin(), out.end());
    return out;
  });
}

std::vector<notification> list_notifications(pqxx::connection_base& c, account_id viewer, const notification_filter& f,
                                             const model::page& p) {
  return translated([&] {
    pqxx::work tx(c);
    return list_notifications(tx, viewer, f, p);
  });
}

model::notification get_notification(pqxx::transaction_base& tx, account_id viewer, notification_id id) {
  return translated([&] {
    auto r = prepared(tx, "chorus.notif.get",
                      "SELECT " + columns() + " FROM notifications n WHERE n.id = $1 AND n.account_id = $2" + visible_sql,
                      id, viewer);
    if (r.empty())
      throw failure(errc::not_found, "Record not found");
    return read_notification(r[0]);
  });
}

model::notification get_notification(pqxx::connection_base& c, account_id viewer, notification_id id) {
  return translated([&] {
    pqxx::work tx(c);
    return get_notification(tx, viewer, id);
  });
}

bool dismiss_notification(pqxx::connection_base& c, account_id viewer, notification_id id) {
  return translated([&] {
    pqxx::work tx(c);
    auto r = tx.exec_params("DELETE FROM notifications WHERE id = $1 AND account_id = $2 RETURNING 1", id, viewer);
    tx.commit();
    return !r.empty();
  });
}

void clear_notifications(pqxx::connection_base& c, account_id viewer) {
  translated([&] {
    pqxx::work tx(c);
    tx.exec_params("DELETE FROM notifications WHERE account_id = $1", viewer);
    tx.commit();
    return 0;
  });
}

std::int64_t unread_count(pqxx::transaction_base& tx, account_id viewer, const notification_filter& f, int limit) {
  return translated([&] {
    // The marker read inside the statement: one round trip.
    return prepared(tx, variant("unread", f, false),
                    "SELECT count(*) FROM (SELECT 1 FROM notifications n WHERE " + base_where(f) +
                      " AND n.id > coalesce((SELECT m.last_read_id FROM markers m WHERE m.account_id = $1"
                      " AND m.timeline = 'notifications'), 0) LIMIT $4) x",
                    viewer, text_array(effective_types(f)), f.from, limit)[0][0]
      .as<std::int64_t>();
  });
}

std::int64_t unread_count(pqxx::connection_base& c, account_id viewer, const notification_filter& f, int limit) {
  return translated([&] {
    pqxx::work tx(c);
    return unread_count(tx, viewer, f, limit);
  });
}

grouped_page grouped_notifications(pqxx::transaction_base& tx, account_id viewer, const notification_filter& f,
                                   const std::vector<std::string>& grouped_types, const model::page& p) {
  return translated([&] {
    auto grouped = normal_grouped(grouped_types);
    int limit = clamp(p.limit);
    bool up = p.min_id > 0;
    grouped_page out;
    out.items = group_walk(tx, viewer, f, grouped, upper_bound(p), lower_bound(p), limit, up);
    if (out.items.empty())
      return out;
    // The range the page covers (Mastodon's pagination_range).
    std::int64_t lo = out.items.back().id, hi = out.items.front().id;
    if (static_cast<int>(out.items.size()) < limit) {
      if (up)
        hi = p.max_id > 0 ? p.max_id - 1 : std::numeric_limits<std::int64_t>::max();
      else
        lo = p.since_id > 0 ? p.since_id + 1 : 0;
    }
    out.groups = group_data(tx, viewer, out.items, grouped, lo, hi);
    return out;
  });
}

grouped_page grouped_notifications(pqxx::connection_base& c, account_id viewer, const notification_filter& f,
                                   const std::vector<std::string>& grouped_types, const model::page& p) {
  return translated([&] {
    pqxx::work tx(c);
    return grouped_notifications(tx, viewer, f, grouped_types, p);
  });
}

std::int64_t grouped_unread_count(pqxx::transaction_base& tx, account_id viewer, const notification_filter& f,
                                  const std::vector<std::string>& grouped_types, int limit) {
  return translated([&] {
    auto marker = notifications_marker(tx, viewer);  // no marker (0): every notification counts
    return static_cast<std::int64_t>(
      group_walk(tx, viewer, f, normal_grouped(grouped_types), std::numeric_limits<std::int64_t>::max(), marker, limit, true)
        .size());
  });
}

std::int64_t grouped_unread_count(pqxx::connection_base& c, account_id viewer, const notification_filter& f,
                                  const std::vector<std::string>& grouped_types, int limit) {
  return translated([&] {
    pqxx::work tx(c);
    return grouped_unread_count(tx, viewer, f, grouped_types, limit);
  });
}

grouped_page notification_group(pqxx::transaction_base& tx, account_id viewer, const std::string& group_key) {
  return translated([&] {
    grouped_page out;
    auto single = ungrouped_id(group_key);
    auto rows = single ? tx.exec_params("SELECT " + columns() + " FROM notifications n WHERE n.account_id = $1 AND n.id = $2" +
                                          visible_sql,
                                        viewer, single)
                       : tx.exec_params("SELECT " + columns() + " FROM notifications n WHERE n.account_id = $1"
                                          " AND n.group_key = $2" + visible_sql + " ORDER BY n.id DESC LIMIT 1",
                                        viewer, group_key);
    if (rows.empty())
      throw failure(errc::not_found, "Record not found");
    out.items.push_back(read_notification(rows[0]));
    if (single)
      out.items.front().group_key.clear();  // shown as its own group
    out.groups = group_data(tx, viewer, out.items, normal_grouped({}), -1, std::numeric_limits<std::int64_t>::max());
    return out;
  });
}

grouped_page notification_group(pqxx::connection_base& c, account_id viewer, const std::string& group_key) {
  return translated([&] {
    pqxx::work tx(c);
    return notification_group(tx, viewer, group_key);
  });
}

std::vector<account_id> group_accounts(pqxx::connection_base& c, account_id viewer, const std::string& group_key,
                                       int limit) {
  return translated([&] {
    pqxx::work tx(c);
    auto single = ungrouped_id(group_key);
    auto rows = tx.exec_params(std::string("SELECT n.from_account_id FROM notifications n WHERE n.account_id = $1") +
                                 (single ? " AND n.id = $2::bigint AND $3::text IS NOT NULL"
                                         : " AND $2::bigint = 0 AND n.group_key = $3") +
                                 visible_sql + " ORDER BY n.id DESC LIMIT $4",
                               viewer, single, group_key, limit);
    std::vector<account_id> out;
    for (const auto& r : rows) {
      auto a = r[0].as<account_id>();
      if (std::find(out.begin(), out.end(), a) == out.end())
        out.push_back(a);
    }
    if (out.empty())
      throw failure(errc::not_found, "Record not found");
    return out;
  });
}

void dismiss_group(pqxx::connection_base& c, account_id viewer, const std::string& group_key) {
  translated([&] {
    pqxx::work tx(c);
    auto single = ungrouped_id(group_key);
    if (single)
      tx.exec_params("DELETE FROM notifications WHERE account_id = $1 AND id = $2", viewer, single);
    else
      tx.exec_params("DELETE FROM notifications WHERE account_id = $1 AND group_key = $2", viewer, group_key);
    tx.commit();
    return 0;
  });
}

// ---- Policy, requests, markers ---------------------------------------------------------

namespace {

model::notification_policy read_policy(pqxx::transaction_base& tx, account_id viewer) {
  model::notification_policy p;
  auto r = tx.exec_params("SELECT for_not_following, for_not_followers, for_new_accounts, for_private_mentions,"
                          " for_limited_accounts FROM notification_policies WHERE account_id = $1",
                          viewer);
  if (!r.empty()) {
    p.for_not_following = r[0][0].as<std::string>();
    p.for_not_followers = r[0][1].as<std::string>();
    p.for_new_accounts = r[0][2].as<std::string>();
    p.for_private_mentions = r[0][3].as<std::string>();
    p.for_limited_accounts = r[0][4].as<std::string>();
  }
  auto s = tx.exec_params1("SELECT count(*), coalesce(sum(notifications_count), 0)::bigint FROM notification_requests"
                           " WHERE account_id = $1 AND NOT dismissed",
                           viewer);
  p.pending_requests_count = s[0].as<std::int64_t>();
  p.pending_notifications_count = s[1].as<std::int64_t>();
  return p;
}

const char* request_columns =
  "r.id, r.from_account_id, coalesce(r.last_status_id, 0), r.notifications_count,"
  " to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
  " to_char(r.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

model::notification_request read_request(const pqxx::row& r) {
  model::notification_request q;
  q.id = r[0].as<notification_request_id>();
  q.from_account_id = r[1].as<account_id>();
  q.last_status = r[2].as<status_id>();
  q.notifications_count = r[3].as<std::int64_t>();
  q.created_at = r[4].as<std::string>();
  q.updated_at = r[5].as<std::string>();
  return q;
}

std::vector<notification_request_id> ids_of(const pqxx::result& rows) {
  std::vector<notification_request_id> out;
  for (const auto& r : rows)
    out.push_back(r[0].as<notification_request_id>());
  return out;
}

model::marker read_marker(const pqxx::row& r) {
  model::marker m;
  m.timeline = r[0].as<std::string>();
  m.last_read_id = r[1].as<std::int64_t>();
  m.version = r[2].as<std::int32_t>();
  m.updated_at = r[3].as<std::string>();
  return m;
}

const char* marker_columns =
  "timeline, last_read_id, version, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

} // namespace

model::notification_policy get_policy(pqxx::connection_base& c, account_id viewer) {
  return translated([&] {
    pqxx::work tx(c);
    return read_policy(tx, viewer);
  });
}

model::notification_policy set_policy(pqxx::connection_base& c, account_id viewer,
                                      const model::notification_policy& ch) {
  return translated([&] {
    pqxx::work tx(c);
    tx.exec_params("INSERT INTO notification_policies (account_id, for_not_following, for_not_followers, for_new_accounts,"
                   " for_private_mentions, for_limited_accounts) VALUES ($1, coalesce(NULLIF($2, ''), 'accept'),"
                   " coalesce(NULLIF($3, ''), 'accept'), coalesce(NULLIF($4, ''), 'accept'),"
                   " coalesce(NULLIF($5, ''), 'filter'), coalesce(NULLIF($6, ''), 'filter'))"
                   " ON CONFLICT (account_id) DO UPDATE SET"
                   " for_not_following = coalesce(NULLIF($2, ''), notification_policies.for_not_following),"
                   " for_not_followers = coalesce(NULLIF($3, ''), notification_policies.for_not_followers),"
                   " for_new_accounts = coalesce(NULLIF($4, ''), notification_policies.for_new_accounts),"
                   " for_private_mentions = coalesce(NULLIF($5, ''), notification_policies.for_private_mentions),"
                   " for_limited_accounts = coalesce(NULLIF($6, ''), notification_policies.for_limited_accounts),"
                   " updated_at = now()",
                   viewer, ch.for_not_following, ch.for_not_followers, ch.for_new_accounts, ch.for_private_mentions,
                   ch.for_limited_accounts);
    auto p = read_policy(tx, viewer);
    tx.commit();
    return p;
  });
}

std::vector<model::notification_request> list_requests(pqxx::connection_base& c, account_id viewer,
                                                       const model::page& p) {
  return translated([&] {
    pqxx::work tx(c);
    bool asc = p.min_id > 0;
    std::string range;
    if (p.max_id > 0)
      range += " AND r.id < " + std::to_string(p.max_id);
    if (p.min_id > 0)
      range += " AND r.id > " + std::to_string(p.min_id);
    else if (p.since_id > 0)
      range += " AND r.id > " + std::to_string(p.since_id);
    auto rows = tx.exec_params(std::string("SELECT ") + request_columns +
                                 " FROM notification_requests r WHERE r.account_id = $1 AND NOT r.dismissed" + range +
                                 " ORDER BY r.id " + (asc ? "ASC" : "DESC") + " LIMIT " + std::to_string(clamp(p.limit)),
                               viewer);
    std::vector<model::notification_request> out;
    for (const auto& r : rows)
      out.push_back(read_request(r));
    if (asc)
      std::reverse(out.begin(), out.end());
    return out;
  });
}

model::notification_request get_request(pqxx::connection_base& c, account_id viewer, notification_request_id id) {
  return translated([&] {
    pqxx::work tx(c);
    auto r = tx.exec_params(std::string("SELECT ") + request_columns +
                              " FROM notification_requests r WHERE r.id = $1 AND r.account_id = $2 AND NOT r.dismissed",
                            id, viewer);
    if (r.empty())
      throw failure(errc::not_found, "Record not found");
    return read_request(r[0]);
  });
}

std::vector<notification_request_id> accept_requests(pqxx::connection_base& c, account_id viewer,
                                                     const std::vector<notification_request_id>& ids) {
  return translated([&] {
    pqxx::work tx(c);
    auto rows = tx.exec_params(
      "WITH acc AS (DELETE FROM notification_requests WHERE account_id = $1 AND id = ANY($2::bigint[]) AND NOT dismissed"
      "             RETURNING id, from_account_id),"
      " perm AS (INSERT INTO notification_permissions (account_id, from_account_id)"
      "          SELECT $1, from_account_id FROM acc ON CONFLICT DO NOTHING),"
      " unf AS (UPDATE notifications SET filtered = false WHERE account_id = $1 AND filtered"
      "         AND from_account_id IN (SELECT from_account_id FROM acc))"
      " SELECT id FROM acc",
      viewer, bigint_array(ids));
    tx.commit();
    return ids_of(rows);
  });
}

std::vector<notification_request_id> dismiss_requests(pqxx::connection_base& c, account_id viewer,
                                                      const std::vector<notification_request_id>& ids) {
  return translated([&] {
    pqxx::work tx(c);
    auto rows = tx.exec_params(
      "WITH d AS (UPDATE notification_requests SET dismissed = true, notifications_count = 0, updated_at = now()"
      "           WHERE account_id = $1 AND id = ANY($2::bigint[]) AND NOT dismissed RETURNING id, from_account_id),"
      " del AS (DELETE FROM notifications WHERE account_id = $1 AND filtered"
      "         AND from_account_id IN (SELECT from_account_id FROM d))"
      " SELECT id FROM d",
      viewer, bigint_array(ids));
    tx.commit();
    return ids_of(rows);
  });
}

std::vector<model::marker> get_markers(pqxx::connection_base& c, account_id viewer,
                                       const std::vector<std::string>& timelines) {
  return translated([&] {
    pqxx::work tx(c);
    std::vector<model::marker> out;
    for (const auto& r : tx.exec_params(std::string("SELECT ") + marker_columns +
                                          " FROM markers WHERE account_id = $1 AND timeline = ANY($2::text[]) ORDER BY timeline",
                                        viewer, text_array(timelines)))
      out.push_back(read_marker(r));
    return out;
  });
}

std::vector<model::marker> set_markers(pqxx::connection_base& c, account_id viewer,
                                       const std::vector<model::marker>& markers) {
  return translated([&] {
    pqxx::work tx(c);
    std::vector<model::marker> out;
    for (auto& m : markers)
      out.push_back(read_marker(tx.exec_params1(
        std::string("INSERT INTO markers (account_id, timeline, last_read_id) VALUES ($1, $2, $3)"
                    " ON CONFLICT (account_id, timeline) DO UPDATE SET last_read_id = EXCLUDED.last_read_id,"
                    " version = markers.version + 1, updated_at = now() RETURNING ") +
          marker_columns,
        viewer, m.timeline, m.last_read_id)));
    tx.commit();
    return out;
  });
}

} // namespace chorus::storage::pg
