#pragma once
// OAuth applications and tokens. Secrets are stored only as SHA-256 digests.
#include "common/ids.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pqxx { class connection_base; class transaction_base; }

namespace chorus::storage::pg {

struct app_row {
  app_id id;
  std::string name;
  std::string website;  // empty when none
  std::vector<std::string> redirect_uris;
  std::string scopes;   // space-separated
  std::string client_id;
  std::string client_secret_hash;
};

void insert_app(pqxx::connection_base& c, const app_row& app);
std::optional<app_row> app_by_client_id(pqxx::connection_base& c, const std::string& client_id);
std::optional<app_row> app_by_id(pqxx::connection_base& c, std::int64_t id);

struct token_row {
  token_id id;
  chorus::app_id app_id;
  chorus::account_id account_id;  // 0 for app-only tokens
  std::string scopes;
  std::int64_t created_at = 0;  // Unix seconds
  bool admin = false;
  bool disabled = false;
};

// account_id 0 = app-only token (client_credentials). Runs in the caller's transaction.
void insert_token(pqxx::transaction_base& tx, std::int64_t id, const std::string& token_hash, std::int64_t app_id,
                  std::int64_t account_id, const std::string& scopes);
// Mints a token in its own transaction; for a user's token (account_id != 0) the
// user's last_sign_in_at is set in the same commit.
void issue_token(pqxx::connection_base& c, std::int64_t id, const std::string& token_hash, std::int64_t app_id,
                 std::int64_t account_id, const std::string& scopes);
// A live (not revoked) token, with its user's admin/disabled flags.
std::optional<token_row> token_by_hash(pqxx::connection_base& c, const std::string& token_hash);
// Revokes the token if it belongs to `app_id`; returns whether one was revoked.
bool revoke_token(pqxx::connection_base& c, const std::string& token_hash, std::int64_t app_id);

// Authorization codes (authorization_code grant), stored as digests, single use.
void insert_code(pqxx::connection_base& c, const std::string& code_hash, std::int64_t app_id, std::int64_t account_id,
                 const std::string& scopes, const std::string& redirect_uri, int ttl_seconds);

struct code_grant {
  chorus::account_id account_id;
  std::string scopes;
};
// Marks the code used and returns what it grants, if it exists, is unused and
// unexpired, and was issued to `app_id` for `redirect_uri`. Runs in the caller's
// transaction, so the token can be minted in the same commit.
std::optional<code_grant> consume_code(pqxx::transaction_base& tx, const std::string& code_hash, std::int64_t app_id,
                                       const std::string& redirect_uri);

// Exchanges an authorization code for a token: consumes the code (consume_code)
// and inserts token `token_id` with what it grants in one transaction, so a code
// yields at most one token. nullopt (and nothing written) when the code is refused.
std::optional<code_grant> redeem_code(pqxx::connection_base& c, const std::string& code_hash, std::int64_t app_id,
                                      const std::string& redirect_uri, std::int64_t token_id,
                                      const std::string& token_hash);

} // namespace chorus::storage::pg
