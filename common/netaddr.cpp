#include "common/netaddr.hpp"

#include <arpa/inet.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace chorus::net {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool is_v4_mapped(const std::array<std::uint8_t, 16>& a) {
  for (int i = 0; i < 10; ++i)
    if (a[i] != 0)
      return false;
  return a[10] == 0xff && a[11] == 0xff;
}

} // namespace

std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view text) {
  std::string s(trim(text));
  if (s.size() > 2 && s.front() == '[' && s.back() == ']')  // "[2001:db8::1]"
    s = s.substr(1, s.size() - 2);
  std::array<std::uint8_t, 16> out{};
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(&out[12], &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

std::vector<cidr> parse_cidrs(std::string_view text) {
  std::vector<cidr> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty())
      continue;
    auto slash = item.find('/');
    auto addr = parse_address(item.substr(0, slash));
    if (!addr)
      throw std::invalid_argument("not an address: '" + std::string(item) + "'");
    cidr c;
    c.addr = *addr;
    bool v4 = is_v4_mapped(*addr);
    if (slash != std::string_view::npos) {
      auto bits = std::string(item.substr(slash + 1));
      char* end = nullptr;
      long n = std::strtol(bits.c_str(), &end, 10);
      if (bits.empty() || *end != '\0' || n < 0 || n > (v4 ? 32 : 128))
        throw std::invalid_argument("bad prefix length: '" + std::string(item) + "'");
      c.prefix = static_cast<int>(v4 ? n + 96 : n);
    }
    out.push_back(c);
  }
  return out;
}

bool contains(const std::vector<cidr>& ranges, std::string_view address) {
  auto a = parse_address(address);
  if (!a)
    return false;
  for (auto& r : ranges) {
    int bits = r.prefix;
    bool match = true;
    for (int i = 0; i < 16 && bits > 0 && match; ++i, bits -= 8) {
      std::uint8_t mask = bits >= 8 ? 0xff : static_cast<std::uint8_t>(0xff << (8 - bits));
      match = ((*a)[i] & mask) == (r.addr[i] & mask);
    }
    if (match)
      return true;
  }
  return false;
}

std::string client_address(std::string_view peer, std::optional<std::string_view> forwarded_for,
                           const std::vector<cidr>& trusted) {
  if (!forwarded_for || trusted.empty() || !contains(trusted, peer))
    return std::string(peer);
  std::vector<std::string_view> hops;
  auto list = *forwarded_for;
  while (!list.empty()) {
    auto comma = list.find(',');
    hops.push_back(trim(list.substr(0, comma)));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  std::string client(peer);
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    if (!parse_address(*it))
      break;  // a malformed hop: believe nothing further left
    client = std::string(trim(*it));
    if (!contains(trusted, *it))
      break;
  }
  return client;
}

bool is_loopback(std::string_view address) {
  auto a = parse_address(address);
  if (!a)
    return false;
  if (is_v4_mapped(*a))
    return (*a)[12] == 127;
  for (int i = 0; i < 15; ++i)
    if ((*a)[i] != 0)
      return false;
  return (*a)[15] == 1;
}

std::string address_key(std::string_view address) {
  auto a = parse_address(address);
  if (!a)
    return std::string(address);
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4_mapped(*a)) {
    inet_ntop(AF_INET, &(*a)[12], buf, sizeof buf);
    return buf;
  }
  std::array<std::uint8_t, 16> net{};
  std::copy(a->begin(), a->begin() + 8, net.begin());
  inet_ntop(AF_INET6, net.data(), buf, sizeof buf);
  return std::string(buf) + "/64";
}

} // namespace chorus::net
