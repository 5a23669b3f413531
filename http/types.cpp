#include "http/types.hpp"

namespace chorus::http {
namespace {
int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
} // namespace

bool url_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      int hi = i + 1 < in.size() ? hex(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hex(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool parse_form(std::string_view text, std::vector<std::pair<std::string, std::string>>& out) {
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto amp = text.find('&', pos);
    if (amp == std::string_view::npos) amp = text.size();
    auto part = text.substr(pos, amp - pos);
    if (!part.empty()) {
      auto eq = part.find('=');
      std::string k, v;
      if (!url_decode(part.substr(0, eq), k, true)) return false;
      if (eq != std::string_view::npos && !url_decode(part.substr(eq + 1), v, true)) return false;
      out.emplace_back(std::move(k), std::move(v));
    }
    pos = amp + 1;
  }
  return true;
}

std::optional<std::string_view> request::header(std::string_view name) const {
  for (auto& [k, v] : headers)
    if (k == name)
      return std::string_view(v);
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> request::query_all() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!parse_form(query_string, out))
    out.clear();
  return out;
}

std::map<std::string, std::string> request::query() const {
  std::map<std::string, std::string> out;
  for (auto& [k, v] : query_all())
    out[k] = v;
  return out;
}

} // namespace chorus::http
