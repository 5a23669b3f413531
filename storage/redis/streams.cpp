#include "storage/redis/streams.hpp"

#include <cstdlib>

namespace chorus::storage::redis {

std::string stream_key(std::int64_t account) { return "chorus:stream:" + std::to_string(account); }

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v) {
    if (!out.empty())
      out.push_back(',');
    out += s;
  }
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t b = 0;
  while (b <= s.size() && !s.empty()) {
    auto e = s.find(',', b);
    if (e == std::string::npos)
      e = s.size();
    if (e > b)
      out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

std::optional<std::int64_t> seq_of(const std::string& id) {
  auto dash = id.find('-');
  if (dash == std::string::npos || dash == 0)
    return std::nullopt;
  char* end = nullptr;
  auto v = std::strtoll(id.c_str(), &end, 10);
  if (end != id.c_str() + dash || v <= 0)
    return std::nullopt;
  return v;
}

} // namespace

command stream_append(std::int64_t account, const stream_entry& e, int cap) {
  return {"XADD", stream_key(account), "MAXLEN", "~", std::to_string(cap), std::to_string(e.seq) + "-0",
          "e", e.event, "p", e.payload, "s", join(e.streams), "f", std::to_string(e.from)};
}

command stream_last(std::int64_t account) { return {"XREVRANGE", stream_key(account), "+", "-", "COUNT", "1"}; }

command stream_after(std::int64_t account, std::int64_t since, int limit) {
  return {"XRANGE", stream_key(account), std::to_string(since + 1) + "-0", "+", "COUNT", std::to_string(limit)};
}

command stream_expire(std::int64_t account, std::int64_t ttl_s) {
  return {"EXPIRE", stream_key(account), std::to_string(ttl_s)};
}

std::vector<stream_entry> parse_stream_entries(const reply& r) {
  std::vector<stream_entry> out;
  if (r.type != reply::kind::array)
    return out;
  for (auto& item : r.elements) {
    if (item.type != reply::kind::array || item.elements.size() != 2)
      continue;
    auto seq = seq_of(item.elements[0].str);
    auto& fields = item.elements[1];
    if (!seq || fields.type != reply::kind::array)
      continue;
    stream_entry e;
    e.seq = *seq;
    for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
      auto& k = fields.elements[i].str;
      auto& v = fields.elements[i + 1].str;
      if (k == "e")
        e.event = v;
      else if (k == "p")
        e.payload = v;
      else if (k == "s")
        e.streams = split(v);
      else if (k == "f")
        e.from = std::strtoll(v.c_str(), nullptr, 10);
    }
    out.push_back(std::move(e));
  }
  return out;
}

replay_plan plan_replay(std::int64_t since, std::int64_t last, std::vector<stream_entry> after) {
  replay_plan p;
  if (since >= last) {
    p.refetch = since > last;  // a cursor the outbox never gave out: it was lost (Redis flushed or expired)
    return p;
  }
  std::int64_t expect = since + 1;
  for (auto& e : after) {
    if (e.seq > last)
      break;  // sequenced after the watch: arrives live
    if (e.seq != expect || e.event == gap_event) {
      p.refetch = true;
      p.events.clear();
      return p;
    }
    ++expect;
    p.events.push_back(std::move(e));
  }
  if (expect != last + 1) {  // the newest ones are missing (a failed write)
    p.refetch = true;
    p.events.clear();
  }
  return p;
}

} // namespace chorus::storage::redis
