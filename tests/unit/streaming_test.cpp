// The streaming API's pure parts: stream names and parameters as Mastodon
// accepts them, the wire format of frames (WebSocket JSON and SSE), and the
// replay plan that decides between resuming and `refetch`.
#include "http/streaming/hub.hpp"
#include "http/streaming/streaming.hpp"
#include "storage/redis/streams.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace chorus;
using namespace chorus::http::streaming;
namespace rd = storage::redis;

TEST(StreamSpec, NamesParametersAndErrors) {
  auto s = parse_stream("user", {}, 5);
  EXPECT_EQ(s.key, "user@5");
  EXPECT_TRUE(s.needs_user);
  EXPECT_EQ(s.scope, "read:statuses");
  EXPECT_EQ(parse_stream("user:notification", {}, 5).scope, "read:notifications");
  EXPECT_EQ(parse_stream("direct", {}, 5).key, "direct@5");
  EXPECT_EQ(parse_stream("public", {}, 0).key, "public");
  EXPECT_EQ(parse_stream("public", {{"only_media", "true"}}, 0).key, "public:media");
  EXPECT_EQ(parse_stream("public:local:media", {}, 0).key, "public:local:media");
  EXPECT_EQ(parse_stream("hashtag", {{"tag", "Cats"}}, 0).key, "hashtag:cats");
  EXPECT_EQ(parse_stream("hashtag:local", {{"tag", "cats"}}, 0).key, "hashtag:local:cats");
  EXPECT_EQ(parse_stream("hashtag", {}, 0).status, 400);
  EXPECT_EQ(parse_stream("hashtag", {{"tag", "a b"}}, 0).status, 400);
  EXPECT_EQ(parse_stream("hashtag", {{"tag", "x\xff"}}, 0).status, 400);
  EXPECT_EQ(parse_stream("list", {{"list", "1"}}, 5).error, "Not authorized to stream this list");
  EXPECT_EQ(parse_stream("nope", {}, 5).error, "Unknown stream type");
  EXPECT_EQ(parse_stream("", {}, 5).status, 400);
  EXPECT_EQ(stream_of_path("/api/v1/streaming/public/local"), "public:local");
  EXPECT_EQ(stream_of_path("/api/v1/streaming/user/notification"), "user:notification");
  EXPECT_EQ(stream_of_path("/api/v1/streaming/hashtag/local"), "hashtag:local");
  EXPECT_EQ(stream_of_path("/api/v1/streaming/other"), "");
}

TEST(StreamFrames, MastodonWireFormat) {
  auto f = render("hashtag:local:cats", "update", "{\"id\":\"1\",\"content\":\"a\\nb\"}", 0);
  auto j = nlohmann::json::parse(f->ws);
  EXPECT_EQ(j["stream"], nlohmann::json({"hashtag:local", "cats"}));
  EXPECT_EQ(j["event"], "update");
  EXPECT_TRUE(j["payload"].is_string()) << "the payload is JSON as a string";
  EXPECT_EQ(nlohmann::json::parse(j["payload"].get<std::string>())["id"], "1");
  EXPECT_FALSE(j.contains("seq"));
  EXPECT_EQ(f->sse, "event: update\ndata: {\"id\":\"1\",\"content\":\"a\\nb\"}\n\n");
  auto u = render("user@5", "delete", "42", 7);
  auto uj = nlohmann::json::parse(u->ws);
  EXPECT_EQ(uj["stream"], nlohmann::json({"user"}));
  EXPECT_EQ(uj["payload"], "42");
  EXPECT_EQ(uj["seq"], 7);
  EXPECT_EQ(u->sse, "id: 7\nevent: delete\ndata: 42\n\n");
  EXPECT_EQ(stream_array("user:notification@5"), "[\"user:notification\"]");
  EXPECT_EQ(stream_array("public:local"), "[\"public:local\"]");
  // A payload with a raw newline still makes one SSE event.
  EXPECT_EQ(render("public", "x", "a\nb", 0)->sse, "event: x\ndata: a\ndata: b\n\n");
}

namespace {
std::vector<rd::stream_entry> entries(std::initializer_list<std::int64_t> seqs, std::int64_t gap = 0) {
  std::vector<rd::stream_entry> out;
  for (auto s : seqs)
    out.push_back({s, s == gap ? rd::gap_event : "update", "p" + std::to_string(s), {"user"}, 0});
  return out;
}
} // namespace

TEST(ReplayPlan, ExactResumeOrRefetch) {
  auto p = rd::plan_replay(3, 6, entries({4, 5, 6, 7}));
  ASSERT_FALSE(p.refetch);
  ASSERT_EQ(p.events.size(), 3u);
  EXPECT_EQ(p.events[0].seq, 4);
  EXPECT_EQ(p.events[2].seq, 6) << "events after the watch arrive live, not replayed";
  EXPECT_TRUE(rd::plan_replay(3, 6, entries({5, 6})).refetch) << "4 was trimmed";
  EXPECT_TRUE(rd::plan_replay(3, 6, entries({4, 5})).refetch) << "6 was never written";
  EXPECT_TRUE(rd::plan_replay(3, 6, entries({4, 5, 6}, 5)).refetch) << "a gap marker";
  EXPECT_TRUE(rd::plan_replay(3, 6, {}).refetch);
  EXPECT_FALSE(rd::plan_replay(6, 6, {}).refetch) << "nothing missed";
  EXPECT_TRUE(rd::plan_replay(9, 6, {}).refetch) << "a cursor the outbox never gave out";
}

#include "http/streaming/gateway.hpp"

#include <iostream>

TEST(StreamConnections, StaySmall) {
  auto [ws, sse] = chorus::http::stream_gateway::connection_sizes();
  std::cout << "sizeof(ws_conn) = " << ws << ", sizeof(sse_conn) = " << sse << "\n";
  // Handshake-only state lives on the heap until the stream is open.
  EXPECT_LE(ws, 512u);
  EXPECT_LE(sse, 512u);
}
