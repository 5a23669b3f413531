#pragma once
// Accounts, their users (login credentials) and instance settings. No CAF here;
// every function runs its own transaction and throws chorus::failure.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pqxx { class connection_base; class transaction_base; }

namespace chorus::storage::pg {

struct account_row {
  std::int64_t id = 0;
  std::string username;
  std::string display_name;
  std::string note;
  bool locked = false;
  bool bot = false;
  bool discoverable = true;
  std::int32_t followers_count = 0;
  std::int32_t following_count = 0;
  std::int32_t statuses_count = 0;
  std::string created_at;      // ISO 8601 UTC with milliseconds
  std::string last_status_at;  // YYYY-MM-DD, empty when never
  std::int32_t follow_requests_count = 0;  // pending requests to follow it; filled for its owner only
};

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

struct account_update {
  std::optional<std::string> display_name;
  std::optional<std::string> note;
  std::optional<bool> locked;
  std::optional<bool> bot;
  std::optional<bool> discoverable;
};
// Applies the fields that are set; not_found when the account does not exist.
account_row update_account(pqxx::connection_base& c, std::int64_t id, const account_update& u);

// Multi-get in the order of `ids`; unknown ids are skipped.
std::vector<account_row> accounts_by_ids(pqxx::transaction_base& tx, const std::vector<std::int64_t>& ids);

void touch_sign_in(pqxx::connection_base& c, std::int64_t account_id);

// Instance settings (JSON text values) from the `settings` table.
std::optional<std::string> get_setting(pqxx::connection_base& c, const std::string& key);
void put_setting(pqxx::connection_base& c, const std::string& key, const std::string& json_value);

} // namespace chorus::storage::pg
