#pragma once
// Status text: finds @mentions, #hashtags and links, and renders the HTML
// `content` Mastodon clients display. Pure functions.
#include <functional>
#include <string>
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

// HTML-escapes & < > " '.
std::string html_escape(const std::string& s);
// Percent-encodes everything but unreserved characters (RFC 3986).
std::string url_encode(const std::string& s);

} // namespace chorus::text
