#include "http/types.hpp"

#include <gtest/gtest.h>

using namespace chorus::http;

TEST(HttpTypes, UrlDecode) {
  std::string out;
  EXPECT_TRUE(url_decode("a%20b+c", out, true));
  EXPECT_EQ(out, "a b c");
  EXPECT_TRUE(url_decode("a+b", out, false));
  EXPECT_EQ(out, "a+b");
  EXPECT_TRUE(url_decode("%E2%9C%93", out, false));
  EXPECT_EQ(out, "\xE2\x9C\x93");
  EXPECT_FALSE(url_decode("%zz", out, false));
  EXPECT_FALSE(url_decode("abc%", out, false));
  EXPECT_FALSE(url_decode("abc%4", out, false));
}

TEST(HttpTypes, FormParsing) {
  std::vector<std::pair<std::string, std::string>> kv;
  ASSERT_TRUE(parse_form("status=hello+world&media_ids[]=1&media_ids[]=2&empty=&flag", kv));
  ASSERT_EQ(kv.size(), 5u);
  EXPECT_EQ(kv[0].first, "status");
  EXPECT_EQ(kv[0].second, "hello world");
  EXPECT_EQ(kv[2].second, "2");
  EXPECT_EQ(kv[3].second, "");
  EXPECT_EQ(kv[4].first, "flag");
  kv.clear();
  EXPECT_FALSE(parse_form("a=%GG", kv));
}

TEST(HttpTypes, QueryAndHeaders) {
  request r;
  r.query_string = "limit=20&max_id=100&limit=40";
  r.headers = {{"content-type", "application/json"}, {"x-a", "1"}};
  auto q = r.query();
  EXPECT_EQ(q["limit"], "40");
  EXPECT_EQ(q["max_id"], "100");
  EXPECT_EQ(r.header("x-a").value_or(""), "1");
  EXPECT_FALSE(r.header("x-b").has_value());
}
