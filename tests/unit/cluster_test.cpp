// The cluster's decisions as plain functions: rendezvous placement (balance,
// minimal movement), the membership view's states, the join proof and the
// host:port parsing of seeds and advertised addresses.
#include "actors/cluster/cluster.hpp"
#include "actors/cluster/membership.hpp"
#include "actors/cluster/placement.hpp"

#include <gtest/gtest.h>
#include <map>

using namespace chorus;
using namespace chorus::actors;
using namespace chorus::actors::cluster;

namespace {

std::map<std::string, int> spread(const std::vector<std::string>& names, std::int64_t n) {
  std::map<std::string, int> out;
  for (std::int64_t id = 1; id <= n; ++id)
    ++out[names[owner_index(names, account_id{id * 7919 + 1})]];
  return out;
}

member joining(const std::string& name, const std::string& incarnation) {
  member m;
  m.info.name = name;
  m.info.incarnation = incarnation;
  return m;
}

} // namespace

TEST(Placement, SpreadsUsersEvenlyOverTheMembers) {
  std::vector<std::string> names{"node-a", "node-b", "node-c"};
  auto s = spread(names, 30'000);
  ASSERT_EQ(s.size(), 3u);
  for (auto& [name, n] : s)
    EXPECT_NEAR(n, 10'000, 600) << name;
}

TEST(Placement, OnlyTheUsersOfALeavingMemberMove) {
  std::vector<std::string> three{"node-a", "node-b", "node-c"}, two{"node-a", "node-c"};
  int moved = 0, of_b = 0;
  for (std::int64_t id = 1; id <= 20'000; ++id) {
    auto before = three[owner_index(three, account_id{id})];
    auto after = two[owner_index(two, account_id{id})];
    of_b += before == "node-b";
    if (before != after) {
      ++moved;
      EXPECT_EQ(before, "node-b") << id;
    }
  }
  EXPECT_EQ(moved, of_b);
  EXPECT_GT(of_b, 5'000);
}

TEST(Placement, AJoiningMemberTakesOnlyTheUsersItWins) {
  std::vector<std::string> three{"node-a", "node-b", "node-c"}, four{"node-a", "node-b", "node-c", "node-d"};
  int moved = 0;
  for (std::int64_t id = 1; id <= 20'000; ++id) {
    auto before = three[owner_index(three, account_id{id})];
    auto after = four[owner_index(four, account_id{id})];
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, "node-d") << id;
    }
  }
  EXPECT_NEAR(moved, 5'000, 500);
}

TEST(Placement, EveryNodeComputesTheSameOwnerWhateverTheOrder) {
  std::vector<std::string> x{"node-a", "node-b", "node-c"}, y{"node-c", "node-a", "node-b"};
  for (std::int64_t id = 1; id <= 1'000; ++id)
    EXPECT_EQ(x[owner_index(x, account_id{id})], y[owner_index(y, account_id{id})]);
}

TEST(Membership, SilenceMakesAMemberSuspectThenGoneAndALostConnectionAtOnce) {
  membership_options o;
  o.suspect_after = std::chrono::milliseconds(1'000);
  o.timeout = std::chrono::milliseconds(3'000);
  membership v(o);
  auto t0 = clock_type::now();
  bool rejoined = true;
  EXPECT_TRUE(v.joined(joining("b", "i1"), t0, rejoined));
  EXPECT_FALSE(rejoined);
  EXPECT_TRUE(v.joined(joining("c", "i2"), t0, rejoined));
  EXPECT_EQ(v.owners("a"), (std::vector<std::string>{"a", "b", "c"}));
  // c answers, b does not.
  v.heard("c", t0 + std::chrono::milliseconds(1'500), 0.5, 3);
  EXPECT_FALSE(v.tick(t0 + std::chrono::milliseconds(1'600)));
  EXPECT_EQ(v.find("b")->state, member_state::suspect);
  EXPECT_EQ(v.find("c")->state, member_state::alive);
  EXPECT_EQ(v.owners("a").size(), 3u) << "a suspect member keeps its users";
  v.heard("c", t0 + std::chrono::milliseconds(3'000), 0.5, 3);
  EXPECT_TRUE(v.tick(t0 + std::chrono::milliseconds(3'100)));
  EXPECT_EQ(v.find("b")->state, member_state::gone);
  EXPECT_EQ(v.owners("a"), (std::vector<std::string>{"a", "c"}));
  // A lost connection: gone at once, and a late answer does not revive it.
  EXPECT_TRUE(v.lost("c", t0 + std::chrono::milliseconds(3'200), "connection lost"));
  EXPECT_FALSE(v.heard("c", t0 + std::chrono::milliseconds(3'300), 0.5, 3));
  EXPECT_EQ(v.owners("a"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(v.find("c")->error, "connection lost");
}

TEST(Membership, ComingBackAsTheSameRunIsARejoinAndARestartIsNot) {
  membership v;
  auto t0 = clock_type::now();
  bool rejoined = false;
  v.joined(joining("b", "i1"), t0, rejoined);
  v.lost("b", t0, "connection lost");
  EXPECT_TRUE(v.joined(joining("b", "i1"), t0, rejoined));
  EXPECT_TRUE(rejoined) << "a healed partition: events sent meanwhile may be lost";
  v.lost("b", t0, "connection lost");
  EXPECT_TRUE(v.joined(joining("b", "i2"), t0, rejoined));
  EXPECT_FALSE(rejoined) << "a new run starts empty";
  EXPECT_FALSE(v.joined(joining("b", "i2"), t0, rejoined)) << "both sides joining at once changes nothing";
  EXPECT_TRUE(v.has("b", "i2"));
  EXPECT_FALSE(v.has("b", "i1"));
}

TEST(ClusterJoin, ProofsDependOnSecretRoleNoncesAndName) {
  auto p = join_proof("s", "join", "na", "nb", "node-a");
  EXPECT_EQ(p, join_proof("s", "join", "na", "nb", "node-a"));
  EXPECT_NE(p, join_proof("t", "join", "na", "nb", "node-a"));
  EXPECT_NE(p, join_proof("s", "challenge", "na", "nb", "node-a"));
  EXPECT_NE(p, join_proof("s", "join", "nx", "nb", "node-a"));
  EXPECT_NE(p, join_proof("s", "join", "na", "nb", "node-b"));
  EXPECT_EQ(p.size(), 64u);
}

TEST(ClusterJoin, HostPortParsing) {
  EXPECT_EQ(parse_host_port("127.0.0.1:7400"), std::make_optional(std::make_pair(std::string("127.0.0.1"), std::uint16_t{7400})));
  EXPECT_EQ(parse_host_port("[::1]:7400"), std::make_optional(std::make_pair(std::string("::1"), std::uint16_t{7400})));
  EXPECT_FALSE(parse_host_port("127.0.0.1"));
  EXPECT_FALSE(parse_host_port("127.0.0.1:0"));
  EXPECT_FALSE(parse_host_port("127.0.0.1:70000"));
  EXPECT_FALSE(parse_host_port(":7400"));
  EXPECT_FALSE(parse_host_port("host:7x"));
}
