// The statuses actor (actors/statuses/statuses.cpp): what it answers for a
// create or an interaction and what feeds and trends hear about it, decided
// without an actor system. The actor itself runs against the real pool and
// Postgres in tests/storage/statuses_actor_pgtest.cpp.
#define CAF_SUITE statuses
#include "actors/statuses/statuses_state.hpp"
#include "tests/actors/checks.hpp"

using namespace chorus;
using namespace chorus::actors;

namespace {

// A bundle with one status by `author`; a reblog of `original` by `origin_author` when given.
model::status_bundle bundle_of(std::int64_t id, std::int64_t author, std::int64_t original = 0,
                               std::int64_t origin_author = 0) {
  model::status_bundle b;
  model::status s;
  s.id = status_id{id};
  s.account_id = account_id{author};
  s.reblog_of_id = status_id{original};
  s.tags = {"cats"};
  s.mention_ids = {account_id{9}};
  s.visibility = 1;
  b.statuses.push_back(s);
  if (original) {
    model::status o;
    o.id = status_id{original};
    o.account_id = account_id{origin_author};
    b.reblogged.emplace(o.id, o);
  }
  return b;
}

action_outcome outcome_of(model::status_bundle b, std::int64_t removed = 0) {
  action_outcome o;
  o.bundle = std::move(b);
  o.removed_id = removed;
  return o;
}

status_action action(status_verb verb, std::int64_t id = 100, std::int64_t viewer = 2) {
  return status_action{account_id{viewer}, status_id{id}, verb, 0};
}

} // namespace

// ---- Decisions, without an actor system ---------------------------------------

CAF_TEST(a draft takes its id from the actor and its author and app from the token) {
  status_create req;
  req.who.account_id = account_id{5};
  req.who.app_id = app_id{7};
  req.fields.text = "hello";
  req.fields.account_id = account_id{666};  // whatever the client sent is overwritten
  req.base_url = "https://chorus.example";
  auto d = statuses_rules::draft_of(req, status_id{42});
  CAF_CHECK_EQUAL(d.fields.id.value(), 42);
  CAF_CHECK_EQUAL(d.fields.account_id.value(), 5);
  CAF_CHECK_EQUAL(d.fields.application_id.value(), 7);
  CAF_CHECK_EQUAL(d.fields.text, "hello");
  CAF_CHECK_EQUAL(d.base_url, "https://chorus.example");
}

CAF_TEST(a reply to a missing status and a refused interaction become errors) {
  model::create_result r;
  CAF_CHECK(!statuses_rules::check_created(r));
  r.parent_missing = true;
  auto missing = statuses_rules::check_created(r);
  CAF_CHECK_EQUAL(test::code(missing), "not_found");
  CAF_CHECK_EQUAL(description_of(missing), "the status replied to does not exist");
  action_outcome o;
  CAF_CHECK(!statuses_rules::check_outcome(o));
  o.code = errc::forbidden;
  o.error = "not yours";
  auto refused = statuses_rules::check_outcome(o);
  CAF_CHECK_EQUAL(test::code(refused), "forbidden");
  CAF_CHECK_EQUAL(description_of(refused), "not yours");
}

CAF_TEST(a post event carries the status and the original author of a reblog) {
  CAF_CHECK(!statuses_rules::post_event({}, 1));
  auto plain = statuses_rules::post_event(bundle_of(10, 5), 77);
  CAF_REQUIRE(plain);
  CAF_CHECK_EQUAL(plain->entry.id.value(), 10);
  CAF_CHECK_EQUAL(plain->entry.author.value(), 5);
  CAF_CHECK_EQUAL(plain->entry.origin_author.value(), 0);
  CAF_CHECK_EQUAL(plain->tags, (std::vector<std::string>{"cats"}));
  CAF_CHECK_EQUAL(plain->mentions.size(), 1u);
  CAF_CHECK_EQUAL(plain->visibility, 1);
  CAF_CHECK_EQUAL(plain->at_ns, 77);
  auto reblog = statuses_rules::post_event(bundle_of(11, 5, 10, 8), 77);
  CAF_REQUIRE(reblog);
  CAF_CHECK_EQUAL(reblog->reblog_of_id.value(), 10);
  CAF_CHECK_EQUAL(reblog->entry.origin_author.value(), 8);
}

CAF_TEST(a favourite is told as an interaction with the author of the status) {
  auto ev = statuses_rules::events_of(action(status_verb::favourite), outcome_of(bundle_of(100, 5)), 1);
  CAF_CHECK(!ev.post);
  CAF_CHECK(!ev.removal);
  CAF_REQUIRE(ev.interaction);
  CAF_CHECK_EQUAL(ev.interaction->viewer.value(), 2);
  CAF_CHECK_EQUAL(ev.interaction->status.value(), 100);
  CAF_CHECK_EQUAL(ev.interaction->status_author.value(), 5);
}

CAF_TEST(a reblog is told as a post and an interaction with the original author) {
  // The outcome of a reblog is the new reblog status 200 (by the viewer) of 100.
  auto ev = statuses_rules::events_of(action(status_verb::reblog), outcome_of(bundle_of(200, 2, 100, 5)), 1);
  CAF_REQUIRE(ev.post);
  CAF_CHECK_EQUAL(ev.post->entry.id.value(), 200);
  CAF_CHECK_EQUAL(ev.post->entry.origin_author.value(), 5);
  CAF_REQUIRE(ev.interaction);
  CAF_CHECK_EQUAL(ev.interaction->status_author.value(), 5);
  CAF_CHECK(!ev.removal);
}

CAF_TEST(an unreblog removes the viewers reblog status) {
  auto ev = statuses_rules::events_of(action(status_verb::unreblog), outcome_of(bundle_of(100, 5), 200), 1);
  CAF_REQUIRE(ev.removal);
  CAF_CHECK_EQUAL(ev.removal->ids.size(), 1u);
  CAF_CHECK_EQUAL(ev.removal->ids.front().value(), 200);
  CAF_CHECK_EQUAL(ev.removal->author.value(), 2);
  CAF_CHECK(!ev.removal->moderation);
  CAF_CHECK(ev.interaction);
  auto none = statuses_rules::events_of(action(status_verb::unreblog), outcome_of(bundle_of(100, 5)), 1);
  CAF_CHECK(!none.removal);  // there was no reblog to remove
}

CAF_TEST(a deletion is told as a removal only and a takedown as moderation) {
  auto removed = statuses_rules::events_of(action(status_verb::remove), outcome_of(bundle_of(100, 5)), 1);
  CAF_REQUIRE(removed.removal);
  CAF_CHECK_EQUAL(removed.removal->ids.front().value(), 100);
  CAF_CHECK_EQUAL(removed.removal->author.value(), 5);
  CAF_CHECK(!removed.removal->moderation);
  CAF_CHECK(!removed.interaction);
  CAF_CHECK(!removed.post);
  auto taken = statuses_rules::events_of(action(status_verb::takedown), outcome_of(bundle_of(100, 5)), 1);
  CAF_REQUIRE(taken.removal);
  CAF_CHECK(taken.removal->moderation);
  auto gone = statuses_rules::events_of(action(status_verb::remove), outcome_of({}), 1);
  CAF_CHECK(!gone.removal);
}
