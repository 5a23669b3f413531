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

#include "http/pagination.hpp"

TEST(Pagination, ReadsCursorsAndClampsLimit) {
  request r;
  r.query_string = "max_id=200&since_id=abc&min_id=-5&limit=1000";
  auto p = read_page(r);
  EXPECT_EQ(p.max_id, 200);
  EXPECT_EQ(p.since_id, 0);  // not a number: ignored
  EXPECT_EQ(p.min_id, 0);
  EXPECT_EQ(p.limit, 40);
  r.query_string = "";
  EXPECT_EQ(read_page(r).limit, 20);
}

TEST(Pagination, LinkHeaderKeepsOtherParametersAndEncodes) {
  request r;
  r.path = "/api/v1/timelines/tag/caf\xC3\xA9";
  r.query_string = "limit=5&max_id=99&local=true";
  auto link = link_header("https://c.example", r, 50, 10);
  EXPECT_EQ(link,
            "<https://c.example/api/v1/timelines/tag/caf%C3%A9?limit=5&local=true&max_id=10>; rel=\"next\", "
            "<https://c.example/api/v1/timelines/tag/caf%C3%A9?limit=5&local=true&min_id=50>; rel=\"prev\"");
  EXPECT_EQ(link_header("https://c.example", r, 0, 0), "");
}

#include "http/pagination.hpp"

TEST(Pagination, LimitIsClampedLikeMastodon) {
  using chorus::http::page_limit;
  EXPECT_EQ(page_limit("", 20, 40), 20);
  EXPECT_EQ(page_limit("abc", 20, 40), 20);
  EXPECT_EQ(page_limit("-5", 20, 40), 20);
  EXPECT_EQ(page_limit("0", 20, 40), 1);
  EXPECT_EQ(page_limit("7", 20, 40), 7);
  EXPECT_EQ(page_limit("41", 20, 40), 40);
  EXPECT_EQ(page_limit("1000", 20, 40), 40);
  EXPECT_EQ(page_limit("99999999999999999999999999", 20, 40), 40);  // beyond int64: still the maximum
}
