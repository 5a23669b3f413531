#pragma once
// Status text: finds @mentions, #hashtags and links, and renders the HTML
// `content` Mastodon clients display. Pure functions.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::text {

struct parsed {
  std::vector<std::string> mentions;  // usernames, as written, without '@', unique (case-insensitive)
  std::vector<std::string> tags;      // lower-case, without '#', unique
};

parsed parse(const std::string& text);

// Renders `text` as HTML: escaped, paragraphs and line breaks, links for URLs,
// hashtags (to base/tags/<tag>) and mentions of the accounts `known` accepts
// (to base/@user); unknown mentions stay plain text.
std::string render(const std::string& text, const std::string& base_url,
                   const std::function<bool(const std::string& username)>& known);

// Length as Mastodon counts it: code points, every URL counting as 23.
std::size_t counted_length(const std::string& text);

std::string lower(std::string s);

// What is wrong with a piece of client text, if anything. Every string that
// comes in over HTTP (path, query, body fields, stored headers) is checked once
// at the edge with this, so storage never sees bytes Postgres refuses.
enum class text_fault { none, invalid_utf8, nul };
// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) noexcept;
text_fault check_text(std::string_view s) noexcept;
// A language tag as clients send it for locales and status languages: "en",
// "pt-BR", "zh_Hant", "ca-ES-valencia" (2-3 letters, then 2-8 letter/digit subtags).
bool valid_language_tag(std::string_view tag, std::size_t max_bytes = 16) noexcept;
// Number of code points of valid UTF-8 text.
std::size_t code_points(std::string_view s) noexcept;

// HTML-escapes & < > " '.
std::string html_escape(const std::string& s);
// Percent-encodes everything but unreserved characters (RFC 3986).
std::string url_encode(const std::string& s);

} // namespace chorus::text
