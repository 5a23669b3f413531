#pragma once
// The length limits of every client string Chorus stores or looks up, in one
// place (docs/api.md "Limits" lists them). Lengths are in code points unless
// the name says bytes. Bodies as a whole are bounded by http.body_limit.
#include <cstddef>

namespace chorus::http::limits {

// Applications (POST /api/v1/apps).
inline constexpr std::size_t app_name = 200;
inline constexpr std::size_t app_website = 2000;
inline constexpr std::size_t redirect_uri = 2000;
inline constexpr std::size_t redirect_uris = 10;  // how many
inline constexpr std::size_t scopes_text = 1000;  // bytes

// OAuth credentials and secrets (looked up, never stored as sent).
inline constexpr std::size_t oauth_secret_bytes = 256;  // client_id, client_secret, code, token
inline constexpr std::size_t password_bytes_login = 1024;

// Accounts.
inline constexpr std::size_t username = 30;         // letters, digits, underscore
inline constexpr std::size_t email_bytes = 254;
inline constexpr std::size_t password_min = 8, password_max = 72;  // bytes (argon2id input)
inline constexpr std::size_t locale_bytes = 16;     // BCP 47-ish: "en", "pt-BR", "zh_Hant"
inline constexpr std::size_t display_name = 30;
inline constexpr std::size_t note = 500;

// Statuses (the text limit itself is statuses.max_characters).
inline constexpr std::size_t language_bytes = 16;   // ISO 639 code with an optional region
inline constexpr std::size_t idempotency_key_bytes = 255;

// Query parameters that name things (queues, hashtags) in lookups.
inline constexpr std::size_t name_param_bytes = 200;

} // namespace chorus::http::limits
