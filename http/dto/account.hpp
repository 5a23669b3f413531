#pragma once
// Mastodon's Account and CredentialAccount entities.
#include "storage/pg/accounts.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace chorus::http {

// Escapes text for HTML and wraps paragraphs in <p> (notes are stored as plain text).
std::string text_to_html(const std::string& text);

nlohmann::json account_json(const storage::pg::account_row& a, const std::string& base_url);
// account_json plus `source` (the editable plain-text fields), for verify/update_credentials.
nlohmann::json credential_account_json(const storage::pg::account_row& a, const std::string& base_url);

} // namespace chorus::http
