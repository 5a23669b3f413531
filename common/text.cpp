#include "common/text.hpp"

#include <algorithm>
#include <cctype>

namespace chorus::text {
namespace {

void escape_into(std::string& out, char c);

bool word_char(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }
bool user_char(unsigned char c) { return std::isalnum(c) || c == '_'; }

void escape_into(std::string& out, char c) {
  switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out.push_back(c);
  }
}

std::string escape(const std::string& s) { return html_escape(s); }

bool starts_with_url(const std::string& t, std::size_t i) {
  return t.compare(i, 7, "http://") == 0 || t.compare(i, 8, "https://") == 0;
}

// End of the URL starting at i (exclusive), without trailing punctuation.
std::size_t url_end(const std::string& t, std::size_t i) {
  auto j = i;
  while (j < t.size() && !std::isspace(static_cast<unsigned char>(t[j])) && t[j] != '<' && t[j] != '>' && t[j] != '"')
    ++j;
  while (j > i && std::string(".,!?:;)'").find(t[j - 1]) != std::string::npos)
    --j;
  return j;
}

// A mention/hashtag may start at i if the previous byte is not part of a word.
bool boundary(const std::string& t, std::size_t i) {
  return i == 0 || !(word_char(static_cast<unsigned char>(t[i - 1])) || t[i - 1] == '@' || t[i - 1] == '#' ||
                     t[i - 1] == '/');
}

std::size_t username_end(const std::string& t, std::size_t i) {  // i is after '@'
  auto j = i;
  while (j < t.size() && j - i < 30 && user_char(static_cast<unsigned char>(t[j])))
    ++j;
  return j;
}

std::size_t tag_end(const std::string& t, std::size_t i) {  // i is after '#'
  auto j = i;
  while (j < t.size() && word_char(static_cast<unsigned char>(t[j])))
    ++j;
  return j;
}

bool valid_tag(const std::string& tag) {
  return !tag.empty() && tag.size() <= 100 &&
         std::any_of(tag.begin(), tag.end(), [](unsigned char c) { return !std::isdigit(c); });
}

} // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s)
    escape_into(out, c);
  return out;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

parsed parse(const std::string& t) {
  parsed out;
  for (std::size_t i = 0; i < t.size();) {
    if (starts_with_url(t, i) && boundary(t, i)) {
      i = std::max(url_end(t, i), i + 1);
      continue;
    }
    if (t[i] == '@' && boundary(t, i)) {
      auto end = username_end(t, i + 1);
      // "@user@remote.host" is a remote mention: not ours (federation is out of scope).
      if (end > i + 1 && (end >= t.size() || t[end] != '@')) {
        auto name = t.substr(i + 1, end - i - 1);
        bool seen = std::any_of(out.mentions.begin(), out.mentions.end(),
                                [&](const std::string& m) { return lower(m) == lower(name); });
        if (!seen)
          out.mentions.push_back(name);
      }
      i = std::max(end, i + 1);
      continue;
    }
    if (t[i] == '#' && boundary(t, i)) {
      auto end = tag_end(t, i + 1);
      auto tag = lower(t.substr(i + 1, end - i - 1));
      if (valid_tag(tag) && std::find(out.tags.begin(), out.tags.end(), tag) == out.tags.end())
        out.tags.push_back(tag);
      i = std::max(end, i + 1);
      continue;
    }
    ++i;
  }
  return out;
}

std::string render(const std::string& t, const std::string& base_url,
                   const std::function<bool(const std::string&)>& known) {
  if (t.empty())
    return {};
  std::string out = "<p>";
  for (std::size_t i = 0; i < t.size();) {
    char c = t[i];
    if (starts_with_url(t, i) && boundary(t, i)) {
      auto end = url_end(t, i);
      auto url = t.substr(i, end - i);
      out += "<a href=\"" + escape(url) + "\" target=\"_blank\" rel=\"nofollow noopener noreferrer\" translate=\"no\">" +
             escape(url) + "</a>";
      i = end;
      continue;
    }
    if (c == '@' && boundary(t, i)) {
      auto end = username_end(t, i + 1);
      auto name = t.substr(i + 1, end - i - 1);
      if (end > i + 1 && (end >= t.size() || t[end] != '@') && known(name)) {
        out += "<span class=\"h-card\" translate=\"no\"><a href=\"" + escape(base_url) + "/@" + escape(name) +
               "\" class=\"u-url mention\">@<span>" + escape(name) + "</span></a></span>";
        i = end;
        continue;
      }
    }
    if (c == '#' && boundary(t, i)) {
      auto end = tag_end(t, i + 1);
      auto tag = t.substr(i + 1, end - i - 1);
      if (valid_tag(tag)) {
        out += "<a href=\"" + escape(base_url) + "/tags/" + escape(lower(tag)) +
               "\" class=\"mention hashtag\" rel=\"tag\">#<span>" + escape(tag) + "</span></a>";
        i = end;
        continue;
      }
    }
    if (c == '\r') {
      ++i;
      continue;
    }
    if (c == '\n') {
      if (i + 1 < t.size() && t[i + 1] == '\n') {
        out += "</p><p>";
        while (i + 1 < t.size() && t[i + 1] == '\n')
          ++i;
      } else {
        out += "<br />";
      }
      ++i;
      continue;
    }
    escape_into(out, c);
    ++i;
  }
  return out + "</p>";
}

std::size_t counted_length(const std::string& t) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < t.size();) {
    if (starts_with_url(t, i) && boundary(t, i)) {
      auto end = url_end(t, i);
      if (end > i) {
        n += 23;
        i = end;
        continue;
      }
    }
    if ((static_cast<unsigned char>(t[i]) & 0xC0) != 0x80)
      ++n;
    ++i;
  }
  return n;
}

bool valid_utf8(std::string_view s) noexcept {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  auto end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;        // overlong
      else if (c == 0xED) hi = 0x9F;   // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;        // overlong
      else if (c == 0xF4) hi = 0x8F;   // above U+10FFFF
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n || p[1] < lo || p[1] > hi)
      return false;
    for (std::size_t k = 2; k <= n; ++k)
      if ((p[k] & 0xC0) != 0x80)
        return false;
    p += n + 1;
  }
  return true;
}

text_fault check_text(std::string_view s) noexcept {
  if (s.find('\0') != std::string_view::npos)
    return text_fault::nul;
  return valid_utf8(s) ? text_fault::none : text_fault::invalid_utf8;
}

bool valid_language_tag(std::string_view l, std::size_t max_bytes) noexcept {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto alnum = [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); };
  if (l.empty() || l.size() > max_bytes)
    return false;
  std::size_t i = 0;
  while (i < l.size() && alpha(l[i]))
    ++i;
  if (i < 2 || i > 3)
    return false;
  while (i < l.size()) {
    if (l[i] != '-' && l[i] != '_')
      return false;
    auto start = ++i;
    while (i < l.size() && alnum(l[i]))
      ++i;
    if (i - start < 2 || i - start > 8)
      return false;
  }
  return true;
}

std::size_t code_points(std::string_view s) noexcept {
  std::size_t n = 0;
  for (unsigned char c : s)
    n += (c & 0xC0) != 0x80;
  return n;
}

} // namespace chorus::text
