// Client addresses for rate limits: trusted proxies, X-Forwarded-For, /64 keys.
#include "common/netaddr.hpp"

#include <gtest/gtest.h>
#include <stdexcept>

using namespace chorus::net;

TEST(NetAddr, ForwardedForIsBelievedOnlyFromTrustedProxies) {
  auto trusted = parse_cidrs("10.0.0.0/8, 192.0.2.7, ::1");
  EXPECT_EQ(client_address("203.0.113.9", "198.51.100.1", trusted), "203.0.113.9") << "not a proxy: its header is ignored";
  EXPECT_EQ(client_address("10.1.2.3", "198.51.100.1", trusted), "198.51.100.1");
  EXPECT_EQ(client_address("10.1.2.3", "6.6.6.6, 198.51.100.1, 192.0.2.7", trusted), "198.51.100.1")
    << "the rightmost hop that is not a trusted proxy; what the client wrote further left is not believed";
  EXPECT_EQ(client_address("::1", "2001:db8::5", trusted), "2001:db8::5");
  EXPECT_EQ(client_address("10.1.2.3", std::nullopt, trusted), "10.1.2.3");
  EXPECT_EQ(client_address("10.1.2.3", "garbage, 198.51.100.1", trusted), "198.51.100.1");
  EXPECT_EQ(client_address("10.1.2.3", "198.51.100.1", {}), "10.1.2.3") << "no trusted proxies configured";
}

TEST(NetAddr, IPv6IsGroupedBySlash64) {
  EXPECT_EQ(address_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("2001:db8:1:2:bbbb::2"), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(address_key("::ffff:203.0.113.9"), "203.0.113.9") << "IPv4-mapped is IPv4";
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.8.9.10"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback("::2"));
  EXPECT_FALSE(is_loopback("10.0.0.1"));
}

TEST(NetAddr, MalformedProxyListsAreRejected) {
  EXPECT_THROW(parse_cidrs("10.0.0.0/33"), std::invalid_argument);
  EXPECT_THROW(parse_cidrs("proxy.example"), std::invalid_argument);
  EXPECT_TRUE(parse_cidrs("").empty());
  EXPECT_TRUE(contains(parse_cidrs("2001:db8::/32"), "2001:db8:ffff::1"));
  EXPECT_FALSE(contains(parse_cidrs("2001:db8::/32"), "2001:db9::1"));
}
