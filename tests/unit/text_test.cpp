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

TEST(Text, Utf8ValidationIsStrict) {
  using chorus::text::valid_utf8;
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\x89"));  // é € 🎉
  EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));                            // U+10FFFF
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("\xc3"));                // truncated
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));            // overlong '/'
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));        // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));        // surrogate U+D800
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));    // above U+10FFFF
  EXPECT_FALSE(valid_utf8("a\x80z"));              // lone continuation byte
  EXPECT_FALSE(valid_utf8("\xe2\x82"));            // truncated at the end
}

TEST(Text, CheckTextRefusesNulAndBadUtf8) {
  using chorus::text::check_text;
  using chorus::text::text_fault;
  EXPECT_EQ(check_text("ok"), text_fault::none);
  EXPECT_EQ(check_text(std::string("evil\0post", 9)), text_fault::nul);
  EXPECT_EQ(check_text("\xfe"), text_fault::invalid_utf8);
}

TEST(Text, LanguageTags) {
  using chorus::text::valid_language_tag;
  for (auto ok : {"en", "pt-BR", "zh_Hant", "ca-ES-valencia", "gsw"})
    EXPECT_TRUE(valid_language_tag(ok)) << ok;
  for (auto bad : {"", "e", "english", "en-", "en--US", "en US", "<script>", "en-\xc3\xa9\xc3\xa9", "xx-aaaaaaaaa"})
    EXPECT_FALSE(valid_language_tag(bad)) << bad;
  EXPECT_FALSE(valid_language_tag(std::string(100, 'a')));
}
