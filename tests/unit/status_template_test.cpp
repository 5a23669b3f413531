// Per-status JSON templates: filling the open flags must give exactly what the
// full renderer gives for a viewer with those flags, for statuses and reblogs.
#include "http/dto/status.hpp"

#include <gtest/gtest.h>

using namespace chorus;
namespace pg = storage::pg;

namespace {

std::string fill(const actors::rendered_status& t, std::uint8_t flags) {
  std::string out;
  for (std::size_t i = 0; i < t.slots.size(); ++i)
    out += t.text[i] + (flags & t.slots[i] ? "true" : "false");
  return out + t.text.back();
}

pg::status_bundle bundle() {
  pg::status_bundle b;
  pg::account_row a;
  a.id = account_id{7};
  a.username = "alice";
  a.created_at = "2026-11-23T01:24:49.141Z";
  b.accounts.emplace(account_id{7}, a);
  pg::account_row r = a;
  r.id = account_id{8};
  r.username = "bob";
  b.accounts.emplace(account_id{8}, r);
  pg::status_row s;
  s.id = status_id{100};
  s.account_id = account_id{7};
  s.content = "<p>flags: \"true\" and \\u0001 stay text</p>";  // look-alikes of markers are left alone
  s.created_at = "2026-11-23T01:25:00.000Z";
  s.favourites_count = 3;
  b.statuses.push_back(s);
  pg::status_row rb;
  rb.id = status_id{101};
  rb.account_id = account_id{8};
  rb.reblog_of_id = status_id{100};
  rb.created_at = "2026-11-23T01:26:00.000Z";
  b.statuses.push_back(rb);
  b.reblogged.emplace(status_id{100}, s);
  return b;
}

} // namespace

TEST(StatusTemplate, FilledTemplateEqualsTheFullRendering) {
  auto b = bundle();
  for (std::uint8_t flags = 0; flags < 8; ++flags)
    for (std::size_t i = 0; i < b.statuses.size(); ++i) {
      auto t = http::status_template(b.statuses[i], b, "https://chorus.example");
      ASSERT_TRUE(t);
      EXPECT_EQ(t->flags_of, 100) << "a reblog shows the viewer's flags of the original";
      auto viewer = b;
      for (auto* row : {&viewer.statuses[0], &viewer.reblogged.at(status_id{100})}) {
        row->favourited = flags & 1;
        row->reblogged = flags & 2;
        row->bookmarked = flags & 4;
      }
      auto expected = http::status_json(viewer.statuses[i], viewer, "https://chorus.example");
      EXPECT_EQ(nlohmann::json::parse(fill(*t, flags)), expected) << "flags " << int(flags) << " status " << i;
    }
}

TEST(StatusTemplate, EveryFlagIsASlot) {
  auto b = bundle();
  auto plain = http::status_template(b.statuses[0], b, "https://chorus.example");
  EXPECT_EQ(plain->slots.size(), 3u);
  auto reblog = http::status_template(b.statuses[1], b, "https://chorus.example");
  EXPECT_EQ(reblog->slots.size(), 6u) << "the wrapper and the nested original";
}
