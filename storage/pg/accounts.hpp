#pragma once
// Accounts, their users (login credentials) and instance settings. No CAF here;
// every function runs its own transaction and throws chorus::failure.
#include "common/model/account.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pqxx { class connection_base; class transaction_base; }

namespace chorus::storage::pg {

// The model types (common/model) under the names storage has always used.
using account_row = model::account;
using model::account_page;
using model::account_update;
using model::instance_stats;

// Pending follow requests to `account` (for the owner's CredentialAccount).
std::int32_t follow_requests_count(pqxx::connection_base& c, std::int64_t account);

struct login_row {
  account_row account;
  std::string email;
  std::string password_hash;
  bool admin = false;
  bool confirmed = false;
  bool disabled = false;
};

struct new_account {
  std::int64_t id = 0;
  std::string username;
  std::string email;
  std::string password_hash;
  bool admin = false;
  bool confirmed = false;
  std::string locale = "en";
};

// Inserts account + user within the caller's transaction (so a registration can
// commit the account and its first token together). A taken username or e-mail
// is errc::unprocessable with a description naming the field.
account_row insert_account(pqxx::transaction_base& tx, const new_account& a);

std::optional<account_row> account_by_id(pqxx::connection_base& c, std::int64_t id);
std::optional<account_row> account_by_username(pqxx::connection_base& c, const std::string& username);
// Login by e-mail (as Mastodon's password grant) or by username.
std::optional<login_row> login_by_email_or_username(pqxx::connection_base& c, const std::string& login);

// Applies the fields that are set; not_found when the account does not exist.
account_row update_account(pqxx::connection_base& c, std::int64_t id, const account_update& u);

// Multi-get in the order of `ids`; unknown ids are skipped.
std::vector<account_row> accounts_by_ids(pqxx::transaction_base& tx, const std::vector<std::int64_t>& ids);
bool account_exists(pqxx::connection_base& c, std::int64_t id);

// Local accounts by lower-cased username (for mentions): lower(username) → id
// for those of `lower_names` that exist.
std::unordered_map<std::string, std::int64_t> account_ids_by_username(pqxx::connection_base& c,
                                                                      const std::vector<std::string>& lower_names);

// Loads the accounts of (cursor, account id) pairs in that order (unknown ids skipped).
// A page of accounts (see model::account_page).
account_page load_account_page(pqxx::connection_base& c, const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs);

// Registration: the account, its user and its first token commit together or
// not at all (see insert_account for taken usernames and e-mails).
account_row register_account(pqxx::connection_base& c, const new_account& a, std::int64_t token_id,
                             const std::string& token_hash, std::int64_t app_id, const std::string& scopes);

void touch_sign_in(pqxx::connection_base& c, std::int64_t account_id);
void touch_sign_in(pqxx::transaction_base& tx, std::int64_t account_id);

// Counts for the instance endpoints.
instance_stats load_instance_stats(pqxx::connection_base& c);

// Instance settings (JSON text values) from the `settings` table.
std::optional<std::string> get_setting(pqxx::connection_base& c, const std::string& key);
void put_setting(pqxx::connection_base& c, const std::string& key, const std::string& json_value);

} // namespace chorus::storage::pg
