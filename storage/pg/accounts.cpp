#include "storage/pg/accounts.hpp"
#include "storage/pg/notifications.hpp"
#include "storage/pg/ids.hpp"

#include "common/errc.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/oauth.hpp"

#include <pqxx/pqxx>

namespace chorus::storage::pg {
namespace {

const char* account_columns =
  "a.id, a.username, a.display_name, a.note, a.locked, a.bot, a.discoverable, a.followers_count,"
  " a.following_count, a.statuses_count,"
  " to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
  " coalesce(to_char(a.last_status_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), '')";

account_row read_account(const pqxx::row& r) {
  account_row a;
  a.id = r[0].as<account_id>();
  a.username = r[1].as<std::string>();
  a.display_name = r[2].as<std::string>();
  a.note = r[3].as<std::string>();
  a.locked = r[4].as<bool>();
  a.bot = r[5].as<bool>();
  a.discoverable = r[6].as<bool>();
  a.followers_count = r[7].as<std::int32_t>();
  a.following_count = r[8].as<std::int32_t>();
  a.statuses_count = r[9].as<std::int32_t>();
  a.created_at = r[10].as<std::string>();
  a.last_status_at = r[11].as<std::string>();
  return a;
}


} // namespace

account_row insert_account(pqxx::transaction_base& tx, const new_account& a) {
  try {
    tx.exec_params("INSERT INTO accounts (id, username) VALUES ($1, $2)", a.id, a.username);
    tx.exec_params("INSERT INTO users (account_id, email, password_hash, admin, confirmed, locale)"
                   " VALUES ($1, $2, $3, $4, $5, $6)",
                   a.id, a.email, a.password_hash, a.admin, a.confirmed, a.locale);
    auto r = tx.exec_params1(std::string("SELECT ") + account_columns + " FROM accounts a WHERE a.id = $1", a.id);
    enqueue_jobs(tx, {notify_job({"admin.sign_up", 0, a.id, 0, a.id, 0})});  // every admin hears of it
    return read_account(r);
  } catch (const pqxx::unique_violation& e) {
    std::string what = e.what();
    if (what.find("accounts_username_key") != std::string::npos)
      throw failure(errc::unprocessable, "username is already taken");
    if (what.find("users_email_key") != std::string::npos)
      throw failure(errc::unprocessable, "email is already taken");
    throw failure(errc::conflict, "the account conflicts with an existing record");
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

std::optional<account_row> account_by_id(pqxx::connection_base& c, std::int64_t id) {
  return translated([&]() -> std::optional<account_row> {
    pqxx::work tx(c);
    auto r = tx.exec_params(std::string("SELECT ") + account_columns + " FROM accounts a WHERE a.id = $1", id);
    if (r.empty())
      return std::nullopt;
    return read_account(r[0]);
  });
}

std::optional<account_row> account_by_username(pqxx::connection_base& c, const std::string& username) {
  return translated([&]() -> std::optional<account_row> {
    pqxx::work tx(c);
    auto r = tx.exec_params(std::string("SELECT ") + account_columns +
                              " FROM accounts a WHERE lower(a.username) = lower($1)",
                            username);
    if (r.empty())
      return std::nullopt;
    return read_account(r[0]);
  });
}

std::optional<login_row> login_by_email_or_username(pqxx::connection_base& c, const std::string& login) {
  return translated([&]() -> std::optional<login_row> {
    pqxx::work tx(c);
    auto r = tx.exec_params(std::string("SELECT ") + account_columns +
                              ", u.email, u.password_hash, u.admin, u.confirmed, u.disabled"
                              " FROM users u JOIN accounts a ON a.id = u.account_id"
                              " WHERE lower(u.email) = lower($1) OR lower(a.username) = lower($1)"
                              " ORDER BY (lower(u.email) = lower($1)) DESC LIMIT 1",
                            login);
    if (r.empty())
      return std::nullopt;
    login_row l;
    l.account = read_account(r[0]);
    l.email = r[0][12].as<std::string>();
    l.password_hash = r[0][13].as<std::string>();
    l.admin = r[0][14].as<bool>();
    l.confirmed = r[0][15].as<bool>();
    l.disabled = r[0][16].as<bool>();
    return l;
  });
}

account_row update_account(pqxx::connection_base& c, std::int64_t id, const account_update& u) {
  return translated([&]() -> account_row {
    pqxx::work tx(c);
    auto r = tx.exec_params(
      std::string("UPDATE accounts a SET"
                  " display_name = CASE WHEN $2 THEN $3 ELSE a.display_name END,"
                  " note = CASE WHEN $4 THEN $5 ELSE a.note END,"
                  " locked = CASE WHEN $6 THEN $7 ELSE a.locked END,"
                  " bot = CASE WHEN $8 THEN $9 ELSE a.bot END,"
                  " discoverable = CASE WHEN $10 THEN $11 ELSE a.discoverable END,"
                  " updated_at = now()"
                  " WHERE a.id = $1 RETURNING ") +
        account_columns,
      id, u.display_name.has_value(), u.display_name.value_or(""), u.note.has_value(), u.note.value_or(""),
      u.locked.has_value(), u.locked.value_or(false), u.bot.has_value(), u.bot.value_or(false),
      u.discoverable.has_value(), u.discoverable.value_or(true));
    if (r.empty())
      throw failure(errc::not_found, "account not found");
    auto row = read_account(r[0]);
    tx.commit();
    return row;
  });
}

std::vector<account_row> accounts_by_ids(pqxx::transaction_base& tx, const std::vector<std::int64_t>& ids) {
  std::vector<account_row> out;
  if (ids.empty())
    return out;
  auto arr = bigint_array(ids);
  try {
    for (const auto& r : tx.exec_params(std::string("SELECT ") + account_columns +
                                          " FROM unnest($1::bigint[]) WITH ORDINALITY AS i(id, n)"
                                          " JOIN accounts a ON a.id = i.id ORDER BY i.n",
                                        arr))
      out.push_back(read_account(r));
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
  return out;
}

std::int32_t follow_requests_count(pqxx::connection_base& c, std::int64_t account) {
  return translated([&] {
    pqxx::work tx(c);
    return tx.exec_params1("SELECT count(*) FROM follow_requests WHERE target_account_id = $1", account)[0]
      .as<std::int32_t>();
  });
}

void touch_sign_in(pqxx::connection_base& c, std::int64_t account_id) {
  translated([&] {
    pqxx::work tx(c);
    touch_sign_in(tx, account_id);
    tx.commit();
    return 0;
  });
}

void touch_sign_in(pqxx::transaction_base& tx, std::int64_t account_id) {
  translated([&] {
    tx.exec_params("UPDATE users SET last_sign_in_at = now() WHERE account_id = $1", account_id);
    return 0;
  });
}

bool account_exists(pqxx::connection_base& c, std::int64_t id) {
  return translated([&] {
    pqxx::work tx(c);
    return !accounts_by_ids(tx, {id}).empty();
  });
}

std::unordered_map<std::string, std::int64_t> account_ids_by_username(pqxx::connection_base& c,
                                                                      const std::vector<std::string>& lower_names) {
  std::unordered_map<std::string, std::int64_t> out;
  if (lower_names.empty())
    return out;
  return translated([&] {
    pqxx::work tx(c);
    for (const auto& r : tx.exec_params("SELECT lower(username), id FROM accounts WHERE lower(username) = ANY($1::text[])",
                                        text_array(lower_names)))
      out[r[0].as<std::string>()] = r[1].as<std::int64_t>();
    return out;
  });
}

account_page load_account_page(pqxx::connection_base& c, const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs) {
  return translated([&] {
    account_page out;
    std::vector<std::int64_t> ids;
    ids.reserve(pairs.size());
    for (auto& [cursor, id] : pairs)
      ids.push_back(id);
    pqxx::work tx(c);
    out.accounts = accounts_by_ids(tx, ids);
    if (!pairs.empty()) {
      out.newest_cursor = pairs.front().first;
      out.oldest_cursor = pairs.back().first;
    }
    return out;
  });
}

account_row register_account(pqxx::connection_base& c, const new_account& a, std::int64_t token_id,
                             const std::string& token_hash, std::int64_t app_id, const std::string& scopes) {
  return translated([&] {
    pqxx::work tx(c);
    auto row = insert_account(tx, a);
    insert_token(tx, token_id, token_hash, app_id, a.id, scopes);
    tx.commit();
    return row;
  });
}

instance_stats load_instance_stats(pqxx::connection_base& c) {
  return translated([&] {
    pqxx::work tx(c);
    auto r = tx.exec1(
      "SELECT (SELECT count(*) FROM users WHERE NOT disabled),"
      " (SELECT coalesce(sum(statuses_count), 0) FROM accounts),"
      " (SELECT count(*) FROM users u JOIN accounts a ON a.id = u.account_id"
      "  WHERE greatest(u.last_sign_in_at, a.last_status_at) > now() - interval '30 days'),"
      " coalesce((SELECT value <> '\"closed\"'::jsonb FROM settings WHERE key = 'registrations'), true)");
    instance_stats out;
    out.user_count = r[0].as<std::int64_t>();
    out.status_count = r[1].as<std::int64_t>();
    out.active_month = r[2].as<std::int64_t>();
    out.registrations_open = r[3].as<bool>();
    return out;
  });
}

std::optional<std::string> get_setting(pqxx::connection_base& c, const std::string& key) {
  return translated([&]() -> std::optional<std::string> {
    pqxx::work tx(c);
    auto r = tx.exec_params("SELECT value::text FROM settings WHERE key = $1", key);
    if (r.empty())
      return std::nullopt;
    return r[0][0].as<std::string>();
  });
}

void put_setting(pqxx::connection_base& c, const std::string& key, const std::string& json_value) {
  translated([&] {
    pqxx::work tx(c);
    tx.exec_params("INSERT INTO settings (key, value) VALUES ($1, $2::jsonb)"
                   " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
                   key, json_value);
    tx.commit();
    return 0;
  });
}

} // namespace chorus::storage::pg
