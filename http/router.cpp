#include "http/router.hpp"

#include <stdexcept>

namespace chorus::http {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    auto next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    out.push_back(path.substr(pos, next - pos));
    pos = next;
  }
  return out;
}

void router::add(std::string method, std::string pattern, handler_fn fn) {
  route r;
  r.method = std::move(method);
  r.segments = split_path(pattern);
  for (auto& s : r.segments)
    if (s.empty() || s[0] != ':')
      ++r.literals;
  // Two patterns collide when they differ only in parameter names.
  auto shape = [](const std::vector<std::string>& segs) {
    std::string out;
    for (auto& s : segs)
      out += "/" + (s[0] == ':' ? std::string(":") : s);
    return out;
  };
  for (auto& existing : routes_)
    if (existing.method == r.method && shape(existing.segments) == shape(r.segments))
      throw std::logic_error("duplicate route " + r.method + " " + pattern);
  r.pattern = std::move(pattern);
  r.fn = std::move(fn);
  routes_.push_back(std::move(r));
}

router::match router::find(request& req) const {
  match m;
  auto segs = split_path(req.path);
  const route* best = nullptr;
  std::string allow;
  for (auto& r : routes_) {
    if (r.segments.size() != segs.size())
      continue;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      auto& p = r.segments[i];
      if (!(p[0] == ':' ? !segs[i].empty() : p == segs[i]))
        ok = false;
    }
    if (!ok)
      continue;
    if (r.method != req.method) {
      if (allow.find(r.method) == std::string::npos)
        allow += (allow.empty() ? "" : ", ") + r.method;
      continue;
    }
    if (!best || r.literals > best->literals)
      best = &r;
  }
  if (!best) {
    // HEAD is served as GET (the session drops the body), so it is allowed wherever GET is.
    if (allow == "GET" || allow.rfind("GET, ", 0) == 0 || allow.find(", GET") != std::string::npos)
      allow += ", HEAD";
    m.allow = allow;
    return m;
  }
  for (std::size_t i = 0; i < segs.size(); ++i)
    if (best->segments[i][0] == ':')
      req.params[best->segments[i].substr(1)] = segs[i];
  m.fn = &best->fn;
  m.route = best->pattern;
  return m;
}

std::vector<router::entry> router::list() const {
  std::vector<entry> out;
  for (auto& r : routes_)
    out.push_back({r.method, r.pattern});
  return out;
}

} // namespace chorus::http
