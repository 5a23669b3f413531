#include "http/dto/account.hpp"

#include <gtest/gtest.h>

using namespace chorus;

TEST(AccountDto, NotesAreEscapedHtml) {
  EXPECT_EQ(http::text_to_html(""), "");
  EXPECT_EQ(http::text_to_html("a <b> & \"c\""), "<p>a &lt;b&gt; &amp; &quot;c&quot;</p>");
  EXPECT_EQ(http::text_to_html("one\ntwo\n\nthree"), "<p>one<br />two</p><p>three</p>");
}

TEST(AccountDto, MastodonShape) {
  storage::pg::account_row a;
  a.id = account_id{117663143633981440};
  a.username = "alice";
  a.display_name = "Alice";
  a.created_at = "2026-11-23T01:24:49.141Z";
  auto j = http::account_json(a, "https://chorus.example");
  EXPECT_EQ(j["id"], "117663143633981440");  // ids are strings
  EXPECT_EQ(j["acct"], "alice");
  EXPECT_EQ(j["url"], "https://chorus.example/@alice");
  EXPECT_TRUE(j["last_status_at"].is_null());
  for (auto key : {"username", "display_name", "locked", "bot", "created_at", "note", "avatar", "avatar_static",
                   "header", "header_static", "followers_count", "following_count", "statuses_count", "emojis",
                   "fields"})
    EXPECT_TRUE(j.contains(key)) << key;
  auto c = http::credential_account_json(a, "https://chorus.example");
  EXPECT_EQ(c["source"]["note"], "");
  EXPECT_EQ(c["source"]["privacy"], "public");
}
