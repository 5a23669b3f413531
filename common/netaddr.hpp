#pragma once
// Client addresses for rate limiting (issue #6): CIDR lists of trusted proxies,
// the client behind them (X-Forwarded-For, believed only from those proxies),
// and the bucket key of an address (IPv4 as is; IPv6 grouped by /64, since one
// subscriber usually gets a whole /64). No I/O.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::net {

struct cidr {
  std::array<std::uint8_t, 16> addr{};  // IPv4 as IPv4-mapped IPv6
  int prefix = 128;                     // in IPv6 bits (IPv4 /24 is 120)
};

// "192.0.2.1", "10.0.0.0/8", "2001:db8::/32" → ranges; throws std::invalid_argument naming the bad item.
std::vector<cidr> parse_cidrs(std::string_view comma_separated);
std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view text);
bool contains(const std::vector<cidr>& ranges, std::string_view address);

// The client of a request from `peer`: when `peer` is a trusted proxy, the
// rightmost X-Forwarded-For entry that is not a trusted proxy (or the leftmost
// if all are); otherwise `peer`. Malformed entries end the walk.
std::string client_address(std::string_view peer, std::optional<std::string_view> forwarded_for,
                           const std::vector<cidr>& trusted);

// 127.0.0.0/8 (also IPv4-mapped) or ::1.
bool is_loopback(std::string_view address);

// The rate-limit key of an address: IPv4 (also IPv4-mapped) as dotted quad,
// IPv6 as its /64 ("2001:db8:1:2::/64"); unparsable text is returned as is.
std::string address_key(std::string_view address);

} // namespace chorus::net
