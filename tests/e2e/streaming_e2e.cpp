// The streaming API through a real chorusd and real WebSocket and SSE clients
// (issue #14): authentication errors as Mastodon answers them, every stream
// (user, public, public:local, hashtag, hashtag:local, list, direct),
// multiplexing, `delete` on every stream that carried a status, blocked and
// muted authors filtered, resume with nothing missing and nothing repeated (WS
// `since`, SSE Last-Event-ID), `refetch` when the gap is older than the outbox
// or the outbox was not live, a slow consumer that loses its queue without
// slowing anyone else, and the statuses of large authors (not fanned out) on
// their streaming followers' user streams, on one node and across nodes.
// Every wait is a condition with a deadline.
#include "support/client.hpp"
#include "support/stream_client.hpp"

#include <gtest/gtest.h>

using namespace chorus::test;
using namespace std::chrono_literals;

namespace {

struct Streaming : client_fixture {
  using opts = stream_client::options;

  std::unique_ptr<stream_client> ws(const std::string& target, std::vector<std::string> headers = {},
                                    std::string subprotocol = {}, int rcvbuf = 0) {
    opts o;
    o.websocket = true;
    o.headers = std::move(headers);
    o.subprotocol = std::move(subprotocol);
    o.rcvbuf = rcvbuf;
    return std::make_unique<stream_client>(d->port(), target, o);
  }
  std::unique_ptr<stream_client> ws_as(const who& w, const std::string& query = "") {
    return ws("/api/v1/streaming" + query, auth(w));
  }
  std::unique_ptr<stream_client> sse(const std::string& path, std::vector<std::string> headers = {}) {
    opts o;
    o.websocket = false;
    o.headers = std::move(headers);
    return std::make_unique<stream_client>(d->port(), path, o);
  }
  // A token of `w`'s account with other scopes (password grant through the test app).
  std::string token_with_scope(const std::string& username, const std::string& scope) {
    auto app = http("POST", d->url("/api/v1/apps"),
                    "client_name=s&redirect_uris=urn:ietf:wg:oauth:2.0:oob&scopes=" + scope,
                    {"Content-Type: application/x-www-form-urlencoded"})
                 .json();
    auto r = http("POST", d->url("/oauth/token"),
                  "grant_type=password&username=" + username + "%40example.com&password=a-long-password&client_id=" +
                    app["client_id"].get<std::string>() + "&client_secret=" +
                    app["client_secret"].get<std::string>() + "&scope=" + scope,
                  {"Content-Type: application/x-www-form-urlencoded"});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.json().value("access_token", "") : "";
  }
  // The user is active (fan-out pushes to active users) and its feed is live.
  void activate(const who& w) { EXPECT_EQ(get(d->url("/api/v1/timelines/home"), auth(w)).status, 200); }

  static std::function<bool(const stream_event&)> update_of(const std::string& id) {
    return [id](const stream_event& e) {
      if (e.event() != "update")
        return false;
      auto p = e.payload_json();
      return p.is_object() && p.value("id", "") == id;
    };
  }
  static std::function<bool(const stream_event&)> update_on(const std::string& id, nlohmann::json stream) {
    return [id, stream](const stream_event& e) { return update_of(id)(e) && e.frame["stream"] == stream; };
  }
  static std::function<bool(const stream_event&)> delete_of(const std::string& id, nlohmann::json stream = nullptr) {
    return [id, stream](const stream_event& e) {
      return e.event() == "delete" && e.payload() == id && (stream.is_null() || e.frame["stream"] == stream);
    };
  }
  static std::size_t count_updates(const stream_client& c, const std::string& id) {
    std::size_t n = 0;
    for (auto& e : c.events())
      if (update_of(id)(e))
        ++n;
    return n;
  }
  // Waits until a user stream is live (its outbox activation is asynchronous):
  // `poster` (followed by the stream's user) posts probes until one arrives.
  void live_user(stream_client& c, const who& poster) {
    ASSERT_TRUE(wait_until([&] {
      auto id = post(poster, "user probe");
      return c.wait_for(update_of(id), 2s);
    }, 20s)) << "the user stream never became live";
  }
  // Waits until a stream subscription reached the hub (a probe status arrives).
  // A subscribe message and the next post race (the subscription reaches the hub
  // on the connection's strand), so probes are posted until one arrives.
  void settle(stream_client& c, const who& poster, const std::string& tag) {
    ASSERT_TRUE(wait_until([&] {
      auto probe = post(poster, "probe #" + tag);
      return c.wait_for(update_of(probe), 2s);
    }, 20s)) << "the subscription never became live";
  }
};

} // namespace

TEST_F(Streaming, HealthAnswersOK) {
  start();
  auto r = get(d->url("/api/v1/streaming/health"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "OK");
}

TEST_F(Streaming, InstanceAdvertisesTheStreamingUrl) {
  start();
  auto v1 = get(d->url("/api/v1/instance")).json();
  auto v2 = get(d->url("/api/v2/instance")).json();
  auto expected = "ws://127.0.0.1:" + std::to_string(d->port());
  EXPECT_EQ(v1["urls"]["streaming_api"], expected);
  EXPECT_EQ(v2["configuration"]["urls"]["streaming"], expected);
}

// streaming.max_connections: beyond it a new stream is refused with 503, a JSON
// error and Retry-After (clients back off and try again); a freed place is reused.
TEST_F(Streaming, ConnectionsBeyondTheCapAreRefusedWithRetryAfter) {
  start({{"CHORUS_STREAMING_MAX_CONNECTIONS", "2"}});
  auto alice = user("alice");
  auto one = ws_as(alice, "?stream=public");
  auto two = sse("/api/v1/streaming/public", auth(alice));
  ASSERT_EQ(one->status(), 101);
  ASSERT_EQ(two->status(), 200);
  auto three = ws_as(alice, "?stream=public");
  EXPECT_EQ(three->status(), 503);
  EXPECT_EQ(nlohmann::json::parse(three->body(), nullptr, false)["error"], "Too many streaming connections");
  EXPECT_EQ(three->response_header("retry-after"), "1");
  one.reset();  // closes: its place is free again once the server saw the close
  ASSERT_TRUE(wait_until([&] { return ws_as(alice, "?stream=public")->status() == 101; }, 10s))
    << "a freed place was never reused";
}

TEST_F(Streaming, AuthenticationErrorsAsMastodon) {
  start();
  auto alice = user("alice");
  auto none = ws("/api/v1/streaming?stream=user");
  EXPECT_EQ(none->status(), 401);
  EXPECT_EQ(nlohmann::json::parse(none->body(), nullptr, false)["error"], "Missing access token");
  auto bad = ws("/api/v1/streaming?stream=user&access_token=not-a-token");
  EXPECT_EQ(bad->status(), 401);
  EXPECT_EQ(nlohmann::json::parse(bad->body(), nullptr, false)["error"], "Invalid access token");
  auto write_only = token_with_scope("alice", "write");
  ASSERT_FALSE(write_only.empty());
  auto scoped = sse("/api/v1/streaming/user", {"Authorization: Bearer " + write_only});
  EXPECT_EQ(scoped->status(), 401);
  EXPECT_EQ(nlohmann::json::parse(scoped->body(), nullptr, false)["error"],
            "Access token does not have the required scopes");
  // read:statuses is enough for the user stream, not for user:notification.
  auto statuses_only = token_with_scope("alice", "read:statuses");
  EXPECT_EQ(sse("/api/v1/streaming/user", {"Authorization: Bearer " + statuses_only})->status(), 200);
  EXPECT_EQ(sse("/api/v1/streaming/user/notification", {"Authorization: Bearer " + statuses_only})->status(), 401);
  // An app's own token has no user to stream.
  auto app = sse("/api/v1/streaming/user", {"Authorization: Bearer " + app_token});
  EXPECT_EQ(app->status(), 401);
  // SSE: unknown streams, a hashtag without its tag, a list that does not exist.
  EXPECT_EQ(sse("/api/v1/streaming/nope", auth(alice))->status(), 400);
  auto notag = sse("/api/v1/streaming/hashtag", auth(alice));
  EXPECT_EQ(notag->status(), 400);
  EXPECT_EQ(nlohmann::json::parse(notag->body(), nullptr, false)["error"], "No tag for stream provided");
  EXPECT_EQ(sse("/api/v1/streaming/list?list=1", auth(alice))->status(), 401);
  EXPECT_EQ(sse("/api/v1/streaming/user", {"Authorization: Bearer " + alice.token, "Last-Event-ID: x"})->status(), 400);
  // WebSocket: a bad subscription is an error frame, the socket stays open.
  auto c = ws_as(alice);
  ASSERT_EQ(c->status(), 101);
  c->subscribe("nope");
  ASSERT_TRUE(c->wait_for([](const stream_event& e) {
    return e.frame.value("error", "") == "Unknown stream type" && e.frame.value("status", 0) == 400;
  }));
  c->subscribe("hashtag");
  ASSERT_TRUE(c->wait_for([](const stream_event& e) { return e.frame.value("error", "") == "No tag for stream provided"; }));
  c->subscribe("list", {{"list", "42"}});
  ASSERT_TRUE(c->wait_for(
    [](const stream_event& e) { return e.frame.value("error", "") == "Not authorized to stream this list"; }));
  c->send("not json");
  ASSERT_TRUE(c->wait_for([](const stream_event& e) { return e.frame.contains("error"); }));
  EXPECT_FALSE(c->closed());
}

TEST_F(Streaming, TokenInEveryPlaceMastodonAccepts) {
  start();
  auto alice = user("alice"), bob = user("bob");
  follow(alice, bob);
  activate(alice);
  auto by_header = ws("/api/v1/streaming?stream=user", auth(alice));
  auto by_query = ws("/api/v1/streaming?stream=user&access_token=" + alice.token);
  auto by_protocol = ws("/api/v1/streaming?stream=user", {}, alice.token);
  ASSERT_EQ(by_header->status(), 101);
  ASSERT_EQ(by_query->status(), 101);
  ASSERT_EQ(by_protocol->status(), 101);
  EXPECT_EQ(by_protocol->response_header("sec-websocket-protocol"), alice.token);
  for (auto* c : {by_header.get(), by_query.get(), by_protocol.get()})
    live_user(*c, bob);
  auto id = post(bob, "hello stream");
  for (auto* c : {by_header.get(), by_query.get(), by_protocol.get()})
    EXPECT_TRUE(c->wait_for(update_on(id, {"user"})));
  // The payload is the Mastodon status, as a string.
  auto ev = by_header->events("update").front();
  EXPECT_EQ(ev.payload_json()["account"]["id"], bob.id);
  EXPECT_EQ(ev.payload_json()["favourited"], false);
  EXPECT_GT(ev.seq(), 0);
}

TEST_F(Streaming, UserStreamOverSseWithIds) {
  start();
  auto alice = user("alice"), bob = user("bob"), carol = user("carol");
  follow(alice, bob);
  activate(alice);
  auto c = sse("/api/v1/streaming/user", auth(alice));
  ASSERT_EQ(c->status(), 200);
  EXPECT_EQ(c->response_header("content-type"), "text/event-stream");
  live_user(*c, bob);
  auto id = post(bob, "over sse");
  ASSERT_TRUE(c->wait_for(update_of(id)));
  auto other = post(carol, "not followed");
  auto mine = post(alice, "my own");
  ASSERT_TRUE(c->wait_for(update_of(mine))) << "the author's own status is on their home stream";
  EXPECT_EQ(count_updates(*c, other), 0u);
  auto ups = c->events("update");
  ASSERT_GE(ups.size(), 2u);
  for (std::size_t i = 1; i < ups.size(); ++i)
    EXPECT_LT(ups[i - 1].seq(), ups[i].seq());
}

TEST_F(Streaming, PublicLocalAndHashtagStreamsMultiplexed) {
  start();
  auto alice = user("alice"), bob = user("bob");
  auto c = ws_as(alice);
  ASSERT_EQ(c->status(), 101);
  c->subscribe("public");
  c->subscribe("public:local");
  c->subscribe("hashtag", {{"tag", "Cats"}});
  c->subscribe("hashtag:local", {{"tag", "cats"}});
  c->subscribe("public:remote");
  c->subscribe("public:media");
  settle(*c, bob, "cats");
  auto id = post(bob, "look #cats");
  for (auto stream : {nlohmann::json{"public"}, nlohmann::json{"public:local"}, nlohmann::json{"hashtag", "cats"},
                      nlohmann::json{"hashtag:local", "cats"}})
    EXPECT_TRUE(c->wait_for(update_on(id, stream), 5s)) << stream.dump();
  // Unlisted and private statuses, and reblogs, are not on the shared streams.
  auto unlisted = post(bob, "quiet #cats", "unlisted");
  auto priv = post(bob, "private #cats", "private");
  // Replies to others are not on public, but are on the hashtag stream.
  auto reply = post(alice, "reply #cats", "public", id);
  ASSERT_TRUE(c->wait_for(update_on(reply, {"hashtag", "cats"})));
  auto marker = post(bob, "marker #dogs");
  ASSERT_TRUE(c->wait_for(update_on(marker, {"public"})));
  EXPECT_EQ(count_updates(*c, unlisted), 0u);
  EXPECT_EQ(count_updates(*c, priv), 0u);
  for (auto& e : c->events("update"))
    if (update_of(reply)(e))
      EXPECT_NE(e.frame["stream"], nlohmann::json{"public"});
  // remote and media streams stay empty until federation and media exist.
  for (auto& e : c->events("update"))
    EXPECT_TRUE(e.frame["stream"] != nlohmann::json{"public:remote"} &&
                e.frame["stream"] != nlohmann::json{"public:media"});
  // Unsubscribed streams stop. Messages are handled in order: once a later
  // subscription is live, the unsubscriptions before it are done.
  c->unsubscribe("public");
  c->unsubscribe("hashtag", {{"tag", "cats"}});
  c->subscribe("hashtag", {{"tag", "sync"}});
  settle(*c, bob, "sync");
  auto after = post(bob, "after #cats");
  ASSERT_TRUE(c->wait_for(update_on(after, {"public:local"})));
  ASSERT_TRUE(c->wait_for(update_on(after, {"hashtag:local", "cats"})));
  for (auto& e : c->events("update"))
    if (update_of(after)(e))
      EXPECT_TRUE((e.frame["stream"] != nlohmann::json{"public"} &&
                   e.frame["stream"] != nlohmann::json{"hashtag", "cats"}))
        << e.frame["stream"].dump() << [&] {
             std::string all;
             for (auto& x : c->events())
               all += x.frame.value("event", "") + " " + x.frame["stream"].dump() + " " +
                      (x.payload_json().is_object() ? x.payload_json().value("id", "") + " " +
                                                        x.payload_json().value("content", "")
                                                    : x.frame.dump()) + "\n";
             return all;
           }();
  // SSE variants.
  auto s = sse("/api/v1/streaming/hashtag?tag=cats", auth(alice));
  auto l = sse("/api/v1/streaming/public/local", auth(alice));
  ASSERT_EQ(s->status(), 200);
  ASSERT_EQ(l->status(), 200);
  settle(*l, bob, "cats");
  auto last = post(bob, "sse #cats");
  EXPECT_TRUE(s->wait_for(update_of(last)));
  EXPECT_TRUE(l->wait_for(update_of(last)));
}

TEST_F(Streaming, DeleteReachesEveryStreamThatCarriedIt) {
  start();
  auto alice = user("alice"), bob = user("bob");
  follow(alice, bob);
  activate(alice);
  auto c = ws_as(alice);
  c->subscribe("user");
  c->subscribe("public");
  c->subscribe("hashtag", {{"tag", "gone"}});
  auto s = sse("/api/v1/streaming/public/local", auth(alice));
  settle(*c, bob, "gone");
  live_user(*c, bob);
  auto id = post(bob, "soon #gone");
  ASSERT_TRUE(c->wait_for(update_on(id, {"user"})));
  ASSERT_TRUE(c->wait_for(update_on(id, {"hashtag", "gone"}), 5s));
  ASSERT_TRUE(s->wait_for(update_of(id)));
  auto r = http("DELETE", d->url("/api/v1/statuses/" + id), {}, auth(bob));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(c->wait_for(delete_of(id, {"user"})));
  EXPECT_TRUE(c->wait_for(delete_of(id, {"public"}), 5s));
  EXPECT_TRUE(c->wait_for(delete_of(id, {"hashtag", "gone"}), 5s));
  EXPECT_TRUE(s->wait_for(delete_of(id)));
}

TEST_F(Streaming, BlockedAndMutedAuthorsNeverArrive) {
  start();
  auto alice = user("alice"), bob = user("bob"), carol = user("carol"), dave = user("dave");
  auto a = ws_as(alice);
  a->subscribe("public");
  auto c = ws_as(carol);  // a bystander sees everything
  c->subscribe("public");
  settle(*a, dave, "x");
  settle(*c, dave, "x");  // the bystander's subscription too: its absence would prove nothing
  ASSERT_EQ(act(alice, "/api/v1/accounts/" + bob.id + "/mute").status, 200);
  ASSERT_EQ(act(dave, "/api/v1/accounts/" + alice.id + "/block").status, 200);  // blocked *by* dave
  auto from_bob = post(bob, "muted one");
  auto from_dave = post(dave, "blocking one");
  // The bystander got both: the hub offered them to alice's connection at the
  // same moment. A marker posted now reaches alice after anything offered
  // before it (one connection's frames are written in order).
  ASSERT_TRUE(c->wait_for(update_of(from_bob)));
  ASSERT_TRUE(c->wait_for(update_of(from_dave)));
  auto marker = post(carol, "marker");
  ASSERT_TRUE(a->wait_for(update_of(marker)));
  EXPECT_EQ(count_updates(*c, from_bob), 1u);
  EXPECT_EQ(count_updates(*c, from_dave), 1u);
  EXPECT_EQ(count_updates(*a, from_bob), 0u) << "muted author on alice's public stream";
  EXPECT_EQ(count_updates(*a, from_dave), 0u) << "an author who blocks alice";
  // A connection opened after the block loads it from Postgres.
  auto a2 = sse("/api/v1/streaming/public", auth(alice));
  settle(*a2, carol, "x");
  auto from_dave2 = post(dave, "again");
  ASSERT_TRUE(c->wait_for(update_of(from_dave2)));
  auto marker2 = post(carol, "marker 2");
  ASSERT_TRUE(a2->wait_for(update_of(marker2)));
  EXPECT_EQ(count_updates(*a2, from_dave2), 0u);
  // Unmuting shows bob again.
  ASSERT_EQ(act(alice, "/api/v1/accounts/" + bob.id + "/unmute").status, 200);
  ASSERT_TRUE(wait_until([&] {
    auto id = post(bob, "visible again");
    return a->wait_for(update_of(id), 2s);
  }));
}

// Authors above feed.fanout_max_followers are not fanned out per follower
// (read-time ring merge): the streams actor finds their followers who stream
// and gives them `update` on `user` by the home feed's rules.
TEST_F(Streaming, LargeAuthorsStatusesReachStreamingFollowers) {
  start({{"CHORUS_FEED_FANOUT_MAX_FOLLOWERS", "2"}});
  auto alice = user("alice"), bob = user("bob"), carol = user("carol"), dave = user("dave"), erin = user("erin"),
       frank = user("frank"), gina = user("gina");
  follow(alice, dave);
  follow(bob, dave);
  follow(carol, dave);
  follow(gina, dave);  // dave: 4 followers, a large author (still after alice unfollows)
  follow(alice, erin);  // erin: a small author (pushed), for probes and markers
  follow(bob, frank);
  activate(alice);
  activate(bob);
  auto a = ws_as(alice, "?stream=user");
  auto b = ws_as(bob, "?stream=user");  // a bystander following dave
  ASSERT_EQ(a->status(), 101);
  ASSERT_EQ(b->status(), 101);
  live_user(*a, erin);
  ASSERT_TRUE(wait_until([&] {
    auto id = post(frank, "bob probe");
    return b->wait_for(update_of(id), 2s);
  }, 20s));
  // The follows load when the stream starts: keep posting until one arrives.
  std::string first;
  ASSERT_TRUE(wait_until([&] {
    first = post(dave, "large probe");
    return a->wait_for(update_on(first, {"user"}), 2s);
  }, 20s)) << "a large author's status never reached a streaming follower";
  auto pub = post(dave, "to everyone");
  ASSERT_TRUE(a->wait_for(update_on(pub, {"user"})));
  auto priv = post(dave, "followers only", "private");
  ASSERT_TRUE(a->wait_for(update_on(priv, {"user"}))) << "followers-only statuses reach followers";
  for (auto& e : a->events("update"))
    EXPECT_GT(e.seq(), 0) << "sequenced in the outbox like every user-stream event";
  // A reply to someone alice does not follow is not in her home; bob follows frank.
  auto reply = post(dave, "@frank hi", "public", post(frank, "frank's"));
  ASSERT_TRUE(b->wait_for(update_on(reply, {"user"}))) << "bob follows dave and frank";
  auto marker = post(erin, "marker");
  ASSERT_TRUE(a->wait_for(update_on(marker, {"user"})));
  EXPECT_EQ(count_updates(*a, reply), 0u) << "a reply to an account alice does not follow";
  EXPECT_EQ(count_updates(*a, pub), 1u);
  // Unfollowing dave (still large): the next status reaches bob, not alice.
  ASSERT_EQ(act(alice, "/api/v1/accounts/" + dave.id + "/unfollow").status, 200);
  auto after = post(dave, "after the unfollow");
  ASSERT_TRUE(b->wait_for(update_on(after, {"user"})));
  auto marker2 = post(erin, "marker 2");
  ASSERT_TRUE(a->wait_for(update_on(marker2, {"user"})));
  EXPECT_EQ(count_updates(*a, after), 0u) << "alice unfollowed dave";
  // Following again brings them back.
  follow(alice, dave);
  ASSERT_TRUE(wait_until([&] {
    auto id = post(dave, "followed again");
    return a->wait_for(update_on(id, {"user"}), 2s);
  }, 20s));
  // hank follows no large author when his stream opens (the node keeps none of
  // his follows then), and starts following one while streaming.
  auto hank = user("hank");
  follow(hank, erin);
  activate(hank);
  auto h = ws_as(hank, "?stream=user");
  ASSERT_EQ(h->status(), 101);
  live_user(*h, erin);
  follow(hank, dave);
  ASSERT_TRUE(wait_until([&] {
    auto id = post(dave, "hank follows dave now");
    return h->wait_for(update_on(id, {"user"}), 2s);
  }, 20s)) << "a large author followed while streaming never reached the new follower";
}

TEST_F(Streaming, ResumeAfterDisconnectNothingMissingNothingRepeated) {
  start();
  auto alice = user("alice"), bob = user("bob");
  follow(alice, bob);
  activate(alice);
  std::int64_t last = 0;
  {
    auto c = ws_as(alice, "?stream=user");
    live_user(*c, bob);
    last = c->events("update").back().seq();
  }
  // Missed while away (the outbox stays live for the resume window).
  std::vector<std::string> missed;
  for (int i = 0; i < 5; ++i)
    missed.push_back(post(bob, "missed " + std::to_string(i)));
  // Wait until the fan-out delivered them all: a second (live) stream sees the last one.
  {
    auto probe = sse("/api/v1/streaming/user", auth(alice));
    auto marker = post(bob, "marker");
    ASSERT_TRUE(probe->wait_for(update_of(marker)));
    missed.push_back(marker);
    for (auto& e : probe->events("update"))  // probes seen only by this connection
      if (std::find(missed.begin(), missed.end(), e.payload_json().value("id", "")) == missed.end())
        missed.push_back(e.payload_json().value("id", ""));
  }
  auto c = ws_as(alice, "?stream=user&since=" + std::to_string(last));
  ASSERT_EQ(c->status(), 101);
  for (auto& id : missed)
    ASSERT_TRUE(c->wait_for(update_of(id))) << id;
  auto live = post(bob, "live again");
  ASSERT_TRUE(c->wait_for(update_of(live)));
  std::vector<std::int64_t> seqs;
  for (auto& e : c->events("update"))
    seqs.push_back(e.seq());
  ASSERT_EQ(seqs.size(), missed.size() + 1) << "nothing repeated";
  for (std::size_t i = 1; i < seqs.size(); ++i)
    EXPECT_GT(seqs[i], seqs[i - 1]);
  EXPECT_EQ(seqs.front(), last + 1) << "nothing missing";
  // SSE: Last-Event-ID.
  auto again = post(bob, "one more");
  auto s = sse("/api/v1/streaming/user", {"Authorization: Bearer " + alice.token,
                                          "Last-Event-ID: " + std::to_string(seqs.back())});
  ASSERT_TRUE(s->wait_for(update_of(again)));
  EXPECT_EQ(count_updates(*s, live), 0u);
  EXPECT_EQ(s->events("update").size(), 1u);
  // A WebSocket subscription message may carry `since` too.
  auto m = ws_as(alice);
  m->subscribe("user", {{"since", std::to_string(last)}});
  ASSERT_TRUE(m->wait_for(update_of(again)));
  EXPECT_EQ(m->events("update").size(), missed.size() + 2);
}

TEST_F(Streaming, RefetchWhenTheGapIsOlderThanTheOutbox) {
  start({{"CHORUS_STREAMING_OUTBOX_SIZE", "10"}});
  auto alice = user("alice"), bob = user("bob");
  follow(alice, bob);
  activate(alice);
  auto keep = sse("/api/v1/streaming/user", auth(alice));  // keeps the outbox live
  live_user(*keep, bob);
  auto since = keep->events("update").back().seq();
  std::string last;
  // MAXLEN ~ trims whole stream nodes (100 entries): post well beyond that.
  for (int i = 0; i < 250; ++i)
    last = post(bob, "flood " + std::to_string(i));
  ASSERT_TRUE(keep->wait_for(update_of(last)));
  auto c = ws_as(alice, "?stream=user&since=" + std::to_string(since));
  ASSERT_TRUE(c->wait_for([](const stream_event& e) { return e.event() == "refetch"; }));
  // No partial replay before the refetch (fan-out batches may deliver the last
  // flood posts after `last`: those arrive live, after it).
  for (auto& e : c->events()) {
    if (e.event() == "refetch")
      break;
    EXPECT_NE(e.event(), "update") << "a replayed update before refetch: " << e.frame.dump();
  }
  // A cursor the outbox never gave out is a gap too.
  auto future = ws_as(alice, "?stream=user&since=999999");
  EXPECT_TRUE(future->wait_for([](const stream_event& e) { return e.event() == "refetch"; }));
}

TEST_F(Streaming, RefetchWhenTheOutboxWasNotLive) {
  start({{"CHORUS_STREAMING_RESUME_WINDOW_MS", "0"}});
  auto alice = user("alice"), bob = user("bob");
  follow(alice, bob);
  activate(alice);
  std::int64_t last = 0;
  {
    auto c = ws_as(alice, "?stream=user");
    live_user(*c, bob);
    last = c->events("update").back().seq();
  }
  // The outbox ends at once: what bob posts now is dropped, not sequenced.
  ASSERT_TRUE(wait_until([&] { return metric("chorus_stream_outboxes") == 0.0; }));
  post(bob, "dropped");
  ASSERT_TRUE(wait_until([&] { return metric("chorus_stream_events_total{result=\"no_outbox\"}") >= 1.0; }));
  auto c = ws_as(alice, "?stream=user&since=" + std::to_string(last));
  EXPECT_TRUE(c->wait_for([](const stream_event& e) { return e.event() == "refetch"; }));
}

TEST_F(Streaming, SlowConsumerGetsRefetchOthersKeepReceiving) {
  // The queue holds 16 frames: the paused client overflows it with 100 frames of
  // 4 KB, a reading client keeps up even on a loaded machine (4 frames did not).
  start({{"CHORUS_STREAMING_SEND_QUEUE", "16"}, {"CHORUS_STREAMING_SEND_BUFFER", "4096"},
         {"CHORUS_STATUSES_MAX_CHARACTERS", "5000"}});
  auto alice = user("alice"), bob = user("bob"), carol = user("carol");
  auto slow = ws("/api/v1/streaming?stream=public", auth(alice), {}, 4096);
  auto fast = ws("/api/v1/streaming?stream=public", auth(carol));
  ASSERT_EQ(slow->status(), 101);
  settle(*slow, bob, "x");
  settle(*fast, bob, "x");
  slow->pause();
  std::string big(4000, 'a');
  std::string last;
  for (int i = 0; i < 100; ++i)
    last = post(bob, big + " " + std::to_string(i));
  ASSERT_TRUE(fast->wait_for(update_of(last), 30s)) << "the fast client is not held back";
  EXPECT_GE(fast->events("update").size(), 100u);
  slow->resume();
  EXPECT_TRUE(slow->wait_for([](const stream_event& e) { return e.event() == "refetch"; }, 30s));
  // After the refetch marker the slow client is live again.
  auto after = post(bob, "after");
  EXPECT_TRUE(slow->wait_for(update_of(after), 30s));
}

// ---- Cross-node: three chorusd processes in one actor cluster ----------------

#include "actors/cluster/placement.hpp"

#include <algorithm>
#include <set>

namespace {

const std::vector<std::string> form = {"Content-Type: application/x-www-form-urlencoded"};

struct StreamingCluster : ::testing::Test {
  temp_database db;
  std::map<std::string, std::unique_ptr<chorusd>> nodes;
  std::string app_token;
  struct who {
    std::string token, id;
  };
  const std::vector<std::string> names{"node-a", "node-b", "node-c"};

  chorusd& node(const std::string& n) { return *nodes.at(n); }
  std::vector<std::string> auth(const who& w) const { return {"Authorization: Bearer " + w.token}; }

  void start_three(std::map<std::string, std::string> extra = {}) {
    for (auto& n : names) {
      std::map<std::string, std::string> env{{"CHORUS_NODE_NAME", n},
                                             {"CHORUS_CLUSTER_SECRET", "a-cluster-secret-for-tests"},
                                             {"CHORUS_CLUSTER_HEARTBEAT_MS", "200"},
                                             {"CHORUS_CLUSTER_SUSPECT_AFTER_MS", "1000"},
                                             {"CHORUS_CLUSTER_TIMEOUT_MS", "3000"},
                                             {"CHORUS_NODE_HEARTBEAT_MS", "500"},
                                             {"CHORUS_JOBS_POLL_MS", "200"}};
      env.insert(extra.begin(), extra.end());
      nodes[n] = std::make_unique<chorusd>(db.dsn(), env);
    }
    ASSERT_TRUE(wait_until([&] {
      for (auto& n : names) {
        auto r = get(node(n).url("/api/v1/chorus/admin/cluster"));
        if (r.status != 200)
          return false;
        int alive = 0;
        auto body = r.json();  // (not r.json()[…] in the loop head: the temporary would end first)
        for (auto& m : body["members"])
          alive += m["state"] == "self" || m["state"] == "alive";
        if (alive != 3)
          return false;
      }
      return true;
    }, 20s)) << node("node-a").log();
    auto app = http("POST", node("node-a").url("/api/v1/apps"),
                    "client_name=t&redirect_uris=urn:ietf:wg:oauth:2.0:oob&scopes=read+write+follow", form)
                 .json();
    app_token = http("POST", node("node-a").url("/oauth/token"),
                     "grant_type=client_credentials&client_id=" + app["client_id"].get<std::string>() +
                       "&client_secret=" + app["client_secret"].get<std::string>() + "&scope=read+write+follow",
                     form)
                  .json()["access_token"];
  }
  who user(const std::string& via, const std::string& name) {
    auto r = http("POST", node(via).url("/api/v1/accounts"),
                  "username=" + name + "&email=" + name + "%40example.com&password=a-long-password&agreement=true",
                  {form[0], "Authorization: Bearer " + app_token});
    EXPECT_EQ(r.status, 200) << r.body;
    who w{r.status == 200 ? r.json()["access_token"].get<std::string>() : "", ""};
    w.id = get(node(via).url("/api/v1/accounts/verify_credentials"), auth(w)).json().value("id", "");
    return w;
  }
  std::string owner_of(const std::string& account) const {
    auto sorted = names;
    std::sort(sorted.begin(), sorted.end());
    return sorted[chorus::actors::cluster::owner_index(sorted, chorus::account_id{std::stoll(account)})];
  }
  // A user whose outbox `owner` owns.
  who user_owned_by(const std::string& owner, const std::string& prefix) {
    for (int i = 0; i < 40; ++i) {
      auto u = user("node-a", prefix + std::to_string(i));
      if (owner_of(u.id) == owner)
        return u;
    }
    ADD_FAILURE() << "no user owned by " << owner;
    return {};
  }
  std::string post(const std::string& via, const who& w, const std::string& text) {
    auto r = http("POST", node(via).url("/api/v1/statuses"), nlohmann::json{{"status", text}}.dump(),
                  {"Authorization: Bearer " + w.token, "Content-Type: application/json"});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.json().value("id", "") : "";
  }
  std::unique_ptr<stream_client> ws(const std::string& via, const who& w, const std::string& query) {
    stream_client::options o;
    o.headers = auth(w);
    return std::make_unique<stream_client>(node(via).port(), "/api/v1/streaming" + query, o);
  }
  static std::function<bool(const stream_event&)> update_on(const std::string& id, nlohmann::json stream) {
    return [id, stream](const stream_event& e) {
      auto p = e.payload_json();
      return e.event() == "update" && p.is_object() && p.value("id", "") == id && e.frame["stream"] == stream;
    };
  }
};

} // namespace

TEST_F(StreamingCluster, SubscriberOnBPostOnAOutboxOnC) {
  start_three();
  auto alice = user_owned_by("node-c", "alice");
  auto bob = user("node-a", "bob");
  ASSERT_EQ(http("POST", node("node-b").url("/api/v1/accounts/" + bob.id + "/follow"), "",
                 {"Authorization: Bearer " + alice.token, form[0]}).status, 200);
  ASSERT_EQ(get(node("node-b").url("/api/v1/timelines/home"), auth(alice)).status, 200);
  auto c = ws("node-b", alice, "?stream=user");
  ASSERT_EQ(c->status(), 101);
  c->subscribe("public");
  c->subscribe("hashtag", {{"tag", "nodes"}});
  // The user stream is live once the owner (node-c) has node-b as a watcher:
  // keep posting until one arrives (the subscription is asynchronous).
  ASSERT_TRUE(wait_until([&] {
    auto id = post("node-a", bob, "probe");
    return c->wait_for(update_on(id, {"user"}), 2s);
  }, 20s)) << node("node-b").log();
  auto id = post("node-a", bob, "across #nodes");
  EXPECT_TRUE(c->wait_for(update_on(id, {"user"}))) << "user stream: sequenced on node-c, delivered on node-b";
  EXPECT_TRUE(c->wait_for(update_on(id, {"public"}))) << "public stream: broadcast from the fan-out's node";
  EXPECT_TRUE(c->wait_for(update_on(id, {"hashtag", "nodes"})));
  auto last = 0ll;
  for (auto& e : c->events("update"))
    if (e.frame["stream"] == nlohmann::json{"user"})
      last = std::max<long long>(last, e.seq());
  // Delete through node-a reaches node-b's streams.
  ASSERT_EQ(http("DELETE", node("node-a").url("/api/v1/statuses/" + id), {}, auth(bob)).status, 200);
  EXPECT_TRUE(c->wait_for([&](const stream_event& e) {
    return e.event() == "delete" && e.payload() == id && e.frame["stream"] == nlohmann::json{"user"};
  }));
  // Resume on another node (node-a) from the last number seen on node-b: the
  // owner (node-c) replays what was missed meanwhile.
  c.reset();
  auto missed = post("node-b", bob, "while away");
  auto r = ws("node-a", alice, "?stream=user&since=" + std::to_string(last));
  ASSERT_EQ(r->status(), 101);
  EXPECT_TRUE(r->wait_for([&](const stream_event& e) {
    return e.event() == "delete" && e.payload() == id;
  })) << "the delete sequenced after `since`";
  EXPECT_TRUE(r->wait_for(update_on(missed, {"user"})));
  EXPECT_TRUE(r->events("refetch").empty());
}

// A large author posts on node-a; alice streams on node-b, her outbox is on
// node-c (where her follows are indexed).
TEST_F(StreamingCluster, LargeAuthorReachesFollowersOnOtherNodes) {
  start_three({{"CHORUS_FEED_FANOUT_MAX_FOLLOWERS", "2"}});
  auto alice = user_owned_by("node-c", "alice");
  auto bob = user_owned_by("node-c", "bob");  // a bystander whose outbox is on node-c too
  auto carol = user("node-a", "carol"), dave = user("node-a", "dave"), erin = user("node-a", "erin"),
       gina = user("node-a", "gina");
  auto follow = [&](const who& a, const who& b, const std::string& verb = "follow") {
    return http("POST", node("node-b").url("/api/v1/accounts/" + b.id + "/" + verb), "",
                {"Authorization: Bearer " + a.token, form[0]}).status;
  };
  ASSERT_EQ(follow(alice, dave), 200);
  ASSERT_EQ(follow(bob, dave), 200);
  ASSERT_EQ(follow(carol, dave), 200);
  ASSERT_EQ(follow(gina, dave), 200);  // dave: 4 followers, above the limit of 2 (still after alice unfollows)
  ASSERT_EQ(follow(alice, erin), 200);  // erin: pushed, for probes and markers
  ASSERT_EQ(follow(bob, erin), 200);
  for (auto* w : {&alice, &bob})
    ASSERT_EQ(get(node("node-b").url("/api/v1/timelines/home"), auth(*w)).status, 200);
  auto a = ws("node-b", alice, "?stream=user");
  auto b = ws("node-a", bob, "?stream=user");
  ASSERT_EQ(a->status(), 101);
  ASSERT_EQ(b->status(), 101);
  for (auto* c : {a.get(), b.get()})
    ASSERT_TRUE(wait_until([&] {
      auto id = post("node-a", erin, "probe");
      return c->wait_for(update_on(id, {"user"}), 2s);
    }, 20s)) << node("node-b").log();
  ASSERT_TRUE(wait_until([&] {
    auto id = post("node-a", dave, "large across nodes");
    return a->wait_for(update_on(id, {"user"}), 2s);
  }, 20s)) << "a large author's status never reached a follower streaming on another node";
  auto id = post("node-b", dave, "posted on node-b");
  EXPECT_TRUE(a->wait_for(update_on(id, {"user"})));
  EXPECT_TRUE(b->wait_for(update_on(id, {"user"})));
  // Unfollowed through node-a: node-c stops. bob (same owner) got the next
  // status, so node-c handled it before the marker was even posted.
  ASSERT_EQ(http("POST", node("node-a").url("/api/v1/accounts/" + dave.id + "/unfollow"), "",
                 {"Authorization: Bearer " + alice.token, form[0]}).status, 200);
  auto after = post("node-a", dave, "after the unfollow");
  ASSERT_TRUE(b->wait_for(update_on(after, {"user"})));
  auto marker = post("node-a", erin, "marker");
  ASSERT_TRUE(a->wait_for(update_on(marker, {"user"})));
  for (auto& e : a->events("update"))
    EXPECT_NE(e.payload_json().value("id", ""), after) << "alice unfollowed dave";
}

// ---- The WebSocket protocol itself (RFC 6455), through a raw socket ------------

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace {

struct raw_ws {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock{ioc};
  std::string pending;

  raw_ws(std::uint16_t port, const std::string& token) {
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    std::string req = "GET /api/v1/streaming?access_token=" + token +
                      " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    boost::asio::write(sock, boost::asio::buffer(req));
    while (pending.find("\r\n\r\n") == std::string::npos)
      fill();
    head = pending.substr(0, pending.find("\r\n\r\n"));
    pending.erase(0, pending.find("\r\n\r\n") + 4);
  }
  void fill() {
    char buf[4096];
    boost::system::error_code ec;
    auto n = sock.read_some(boost::asio::buffer(buf), ec);
    if (ec)
      throw std::runtime_error("closed");
    pending.append(buf, n);
  }
  // A client frame (masked, as clients must; `mask=false` to break the rule).
  void send(std::uint8_t op, const std::string& payload, bool mask = true) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | op));
    f.push_back(static_cast<char>((mask ? 0x80 : 0) | payload.size()));  // < 126 bytes here
    const char key[4] = {0x11, 0x22, 0x33, 0x44};
    if (mask)
      f.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
      f.push_back(mask ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i]);
    boost::asio::write(sock, boost::asio::buffer(f));
  }
  // The next server frame: (opcode, payload).
  std::pair<int, std::string> next() {
    while (pending.size() < 2)
      fill();
    auto b0 = static_cast<std::uint8_t>(pending[0]), b1 = static_cast<std::uint8_t>(pending[1]);
    EXPECT_EQ(b1 & 0x80, 0) << "server frames are not masked";
    std::size_t len = b1 & 0x7f, at = 2;
    if (len == 126) {
      while (pending.size() < 4)
        fill();
      len = (std::size_t(std::uint8_t(pending[2])) << 8) | std::uint8_t(pending[3]);
      at = 4;
    }
    while (pending.size() < at + len)
      fill();
    auto payload = pending.substr(at, len);
    pending.erase(0, at + len);
    return {b0 & 0x0f, payload};
  }
  std::string head;
};

} // namespace

TEST_F(Streaming, WebSocketProtocolPingCloseAndMasking) {
  start();
  auto alice = user("alice");
  raw_ws ws(d->port(), alice.token);
  EXPECT_NE(ws.head.find(" 101 "), std::string::npos) << ws.head;
  // RFC 6455's own example key → its accept value.
  EXPECT_NE(ws.head.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << ws.head;
  ws.send(0x9, "hi");
  auto pong = ws.next();
  EXPECT_EQ(pong.first, 0xa);
  EXPECT_EQ(pong.second, "hi");
  ws.send(0x1, R"({"type":"subscribe","stream":"nope"})");
  auto err = ws.next();
  EXPECT_EQ(err.first, 0x1);
  EXPECT_NE(err.second.find("Unknown stream type"), std::string::npos);
  ws.send(0x8, std::string("\x03\xe8", 2));
  auto closing = ws.next();
  EXPECT_EQ(closing.first, 0x8) << "the close is answered";
  EXPECT_THROW(ws.fill(), std::runtime_error) << "then the server hangs up";

  raw_ws bad(d->port(), alice.token);
  bad.send(0x1, R"({"type":"subscribe","stream":"public"})", false);
  auto refused = bad.next();
  ASSERT_EQ(refused.first, 0x8) << "an unmasked client frame is a protocol error";
  ASSERT_GE(refused.second.size(), 2u);
  EXPECT_EQ((std::uint8_t(refused.second[0]) << 8) | std::uint8_t(refused.second[1]), 1002);
}

TEST_F(Streaming, HeartbeatsAndSilentClientsClosed) {
  start({{"CHORUS_STREAMING_HEARTBEAT_MS", "200"}});
  auto alice = user("alice");
  // SSE: `:thump` comments.
  auto s = sse("/api/v1/streaming/public", auth(alice));
  EXPECT_TRUE(s->wait_for([](const stream_event& e) { return e.frame.value("comment", "") == "thump"; }, 5s));
  // WebSocket: pings; a client that answers them stays, a silent one is closed.
  auto answering = ws_as(alice);  // Beast answers pings with pongs
  raw_ws silent(d->port(), alice.token);
  auto ping = silent.next();
  EXPECT_EQ(ping.first, 0x9);
  auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() - t0 < 10s) {
    try {
      silent.next();
    } catch (const std::runtime_error&) {
      closed = true;
    }
  }
  EXPECT_TRUE(closed) << "a client silent for 2 heartbeats is closed";
  EXPECT_FALSE(answering->closed()) << "a client that answers pings stays (as long as the silent one waited)";
}
