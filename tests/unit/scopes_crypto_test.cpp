#include "common/crypto.hpp"
#include "common/scopes.hpp"

#include <gtest/gtest.h>

using namespace chorus;

TEST(Scopes, ParseValidatesAndDefaultsToRead) {
  EXPECT_EQ(*scopes::parse(""), std::vector<std::string>{"read"});
  EXPECT_EQ(*scopes::parse("read write:statuses  follow"),
            (std::vector<std::string>{"read", "write:statuses", "follow"}));
  EXPECT_EQ(*scopes::parse("read+write"), (std::vector<std::string>{"read", "write"}));
  EXPECT_FALSE(scopes::parse("read delete_everything").has_value());
}

TEST(Scopes, ParentsGrantChildren) {
  std::vector<std::string> g = {"read", "write:statuses", "admin:read"};
  EXPECT_TRUE(scopes::allows(g, "read:accounts"));
  EXPECT_TRUE(scopes::allows(g, "write:statuses"));
  EXPECT_FALSE(scopes::allows(g, "write:accounts"));
  EXPECT_FALSE(scopes::allows(g, "write"));
  EXPECT_TRUE(scopes::allows(g, "admin:read:accounts"));
  EXPECT_FALSE(scopes::allows(g, "admin:write:accounts"));
}

TEST(Scopes, LegacyFollowScope) {
  EXPECT_TRUE(scopes::allows({"follow"}, "write:follows"));
  EXPECT_TRUE(scopes::allows({"follow"}, "read:blocks"));
  EXPECT_FALSE(scopes::allows({"follow"}, "write:statuses"));
}

TEST(Scopes, Subset) {
  EXPECT_TRUE(scopes::subset({"read:accounts", "write:statuses"}, {"read", "write"}));
  EXPECT_FALSE(scopes::subset({"write"}, {"read", "write:statuses"}));
}

TEST(Crypto, TokensAreLongRandomAndUrlSafe) {
  auto a = crypto::random_token(32);
  auto b = crypto::random_token(32);
  EXPECT_EQ(a.size(), 43u);  // 256 bits, unpadded base64url
  EXPECT_NE(a, b);
  for (char c : a)
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << a;
}

TEST(Crypto, Sha256KnownAnswer) {
  EXPECT_EQ(crypto::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, Argon2idRoundTrip) {
  auto h = crypto::hash_password("correct horse", {1, 1024, 1});
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_TRUE(crypto::verify_password(h, "correct horse"));
  EXPECT_FALSE(crypto::verify_password(h, "correct horsE"));
  EXPECT_FALSE(crypto::verify_password("not a hash", "x"));
  EXPECT_NE(crypto::hash_password("same", {1, 1024, 1}), crypto::hash_password("same", {1, 1024, 1}));  // salted
}
