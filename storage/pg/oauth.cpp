#include "storage/pg/oauth.hpp"
#include "storage/pg/ids.hpp"

#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"

#include <pqxx/pqxx>

namespace chorus::storage::pg {

void insert_app(pqxx::connection_base& c, const app_row& app) {
  try {
    pqxx::work tx(c);
    tx.exec_params("INSERT INTO oauth_apps (id, name, website, redirect_uris, scopes, client_id, client_secret_hash)"
                   " VALUES ($1, $2, NULLIF($3, ''), $4::text[], $5, $6, $7)",
                   app.id, app.name, app.website, text_array(app.redirect_uris), app.scopes, app.client_id,
                   app.client_secret_hash);
    tx.commit();
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

namespace {
std::optional<app_row> app_where(pqxx::connection_base& c, const char* where, const std::string& key) {
  try {
    pqxx::work tx(c);
    auto r = tx.exec_params(std::string("SELECT id, name, coalesce(website, ''), redirect_uris, scopes, client_id,"
                                        " client_secret_hash FROM oauth_apps WHERE ") + where,
                            key);
    if (r.empty())
      return std::nullopt;
    app_row a;
    a.id = r[0][0].as<app_id>();
    a.name = r[0][1].as<std::string>();
    a.website = r[0][2].as<std::string>();
    a.redirect_uris = parse_text_array(r[0][3]);
    a.scopes = r[0][4].as<std::string>();
    a.client_id = r[0][5].as<std::string>();
    a.client_secret_hash = r[0][6].as<std::string>();
    return a;
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}
} // namespace

std::optional<app_row> app_by_client_id(pqxx::connection_base& c, const std::string& client_id) {
  return app_where(c, "client_id = $1", client_id);
}

std::optional<app_row> app_by_id(pqxx::connection_base& c, std::int64_t id) {
  return app_where(c, "id = $1::bigint", std::to_string(id));
}

void insert_token(pqxx::transaction_base& tx, std::int64_t id, const std::string& token_hash, std::int64_t app_id,
                  std::int64_t account_id, const std::string& scopes) {
  try {
    tx.exec_params("INSERT INTO oauth_tokens (id, token_hash, app_id, account_id, scopes)"
                   " VALUES ($1, $2, $3, NULLIF($4::bigint, 0), $5)",
                   id, token_hash, app_id, account_id, scopes);
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

std::optional<token_row> token_by_hash(pqxx::connection_base& c, const std::string& token_hash) {
  try {
    pqxx::work tx(c);
    auto r = tx.exec_params("SELECT t.id, t.app_id, coalesce(t.account_id, 0), t.scopes,"
                            " extract(epoch FROM t.created_at)::bigint,"
                            " coalesce(u.admin, false), coalesce(u.disabled, false)"
                            " FROM oauth_tokens t LEFT JOIN users u ON u.account_id = t.account_id"
                            " WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
                            token_hash);
    if (r.empty())
      return std::nullopt;
    token_row t;
    t.id = r[0][0].as<token_id>();
    t.app_id = r[0][1].as<app_id>();
    t.account_id = r[0][2].as<account_id>();
    t.scopes = r[0][3].as<std::string>();
    t.created_at = r[0][4].as<std::int64_t>();
    t.admin = r[0][5].as<bool>();
    t.disabled = r[0][6].as<bool>();
    return t;
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

bool revoke_token(pqxx::connection_base& c, const std::string& token_hash, std::int64_t app_id) {
  try {
    pqxx::work tx(c);
    auto r = tx.exec_params("UPDATE oauth_tokens SET revoked_at = now()"
                            " WHERE token_hash = $1 AND app_id = $2 AND revoked_at IS NULL",
                            token_hash, app_id);
    tx.commit();
    return r.affected_rows() > 0;
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

void insert_code(pqxx::connection_base& c, const std::string& code_hash, std::int64_t app_id, std::int64_t account_id,
                 const std::string& scopes, const std::string& redirect_uri, int ttl_seconds) {
  try {
    pqxx::work tx(c);
    tx.exec_params("INSERT INTO oauth_codes (code_hash, app_id, account_id, scopes, redirect_uri, expires_at)"
                   " VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
                   code_hash, app_id, account_id, scopes, redirect_uri, ttl_seconds);
    tx.commit();
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

std::optional<code_grant> consume_code(pqxx::transaction_base& tx, const std::string& code_hash, std::int64_t app_id,
                                       const std::string& redirect_uri) {
  try {
    auto r = tx.exec_params("UPDATE oauth_codes SET used_at = now()"
                            " WHERE code_hash = $1 AND app_id = $2 AND redirect_uri = $3"
                            " AND used_at IS NULL AND expires_at > now()"
                            " RETURNING account_id, scopes",
                            code_hash, app_id, redirect_uri);
    if (r.empty())
      return std::nullopt;
    return code_grant{r[0][0].as<account_id>(), r[0][1].as<std::string>()};
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

void issue_token(pqxx::connection_base& c, std::int64_t id, const std::string& token_hash, std::int64_t app_id,
                 std::int64_t account_id, const std::string& scopes) {
  translated([&] {
    pqxx::work tx(c);
    insert_token(tx, id, token_hash, app_id, account_id, scopes);
    if (account_id != 0)
      touch_sign_in(tx, account_id);
    tx.commit();
    return 0;
  });
}

std::optional<code_grant> redeem_code(pqxx::connection_base& c, const std::string& code_hash, std::int64_t app_id,
                                      const std::string& redirect_uri, std::int64_t token_id,
                                      const std::string& token_hash) {
  return translated([&] {
    pqxx::work tx(c);
    auto granted = consume_code(tx, code_hash, app_id, redirect_uri);
    if (!granted)
      return granted;
    insert_token(tx, token_id, token_hash, app_id, granted->account_id, granted->scopes);
    tx.commit();
    return granted;
  });
}

} // namespace chorus::storage::pg
