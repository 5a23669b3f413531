#include "common/text.hpp"

#include <gtest/gtest.h>

using namespace chorus;

TEST(Text, FindsMentionsAndTags) {
  auto p = text::parse("hi @alice and @Bob, @alice again #Rust #rust #2024 #c_plus_plus email@host.com x#notatag");
  EXPECT_EQ(p.mentions, (std::vector<std::string>{"alice", "Bob"}));
  EXPECT_EQ(p.tags, (std::vector<std::string>{"rust", "c_plus_plus"}));
}

TEST(Text, RemoteMentionsAndUrlsAreNotLocalMentions) {
  auto p = text::parse("@carol@other.example see https://x.example/@dave#frag");
  EXPECT_TRUE(p.mentions.empty());
  EXPECT_TRUE(p.tags.empty());
}

TEST(Text, RendersEscapedHtmlWithLinks) {
  auto html = text::render("<b>hi</b> @alice @nobody #Tag https://x.example/a?b=1&c=2.\nnext", "https://c.example",
                           [](const std::string& u) { return u == "alice"; });
  EXPECT_NE(html.find("&lt;b&gt;hi&lt;/b&gt;"), std::string::npos) << html;
  EXPECT_NE(html.find("href=\"https://c.example/@alice\" class=\"u-url mention\""), std::string::npos) << html;
  EXPECT_NE(html.find("@nobody"), std::string::npos);
  EXPECT_EQ(html.find("/@nobody"), std::string::npos);
  EXPECT_NE(html.find("href=\"https://c.example/tags/tag\""), std::string::npos) << html;
  EXPECT_NE(html.find("href=\"https://x.example/a?b=1&amp;c=2\""), std::string::npos) << html;
  EXPECT_NE(html.find("</a>.<br />next"), std::string::npos) << html;
  EXPECT_EQ(html.rfind("<p>", 0), 0u);
}

TEST(Text, LengthCountsCodePointsAndUrlsAs23) {
  EXPECT_EQ(text::counted_length("héllo"), 5u);
  EXPECT_EQ(text::counted_length("see https://example.com/a/very/long/path/indeed/yes"), 4u + 23u);
}
