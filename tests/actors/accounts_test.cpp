// The accounts actor (actors/accounts/accounts.cpp): its decisions called
// directly, and the instance-count cache under the deterministic coordinator,
// whose clock the actor reads.
#define CAF_SUITE accounts
#include "actors/accounts/accounts_state.hpp"
#include "tests/actors/stubs.hpp"

using namespace chorus;
using namespace chorus::actors;

// ---- Decisions, without an actor system ---------------------------------------

CAF_TEST(registrations are open unless the setting says closed) {
  CAF_CHECK(accounts_rules::registrations_open(std::nullopt));
  CAF_CHECK(accounts_rules::registrations_open(std::string{"\"open\""}));
  CAF_CHECK(!accounts_rules::registrations_open(std::string{"\"closed\""}));
  CAF_CHECK(!accounts_rules::check_open(true));
  auto refused = accounts_rules::check_open(false);
  CAF_CHECK_EQUAL(test::code(refused), "forbidden");
  CAF_CHECK_EQUAL(description_of(refused), "registrations are closed on this server");
}

CAF_TEST(a registration becomes an account and a token with the app scopes) {
  registration r;
  r.app.app_id = app_id{7};
  r.app.scopes = {"read", "write"};
  r.username = "alice";
  r.email = "alice@example.com";
  auto a = accounts_rules::account_of(r, 42, "hash");
  CAF_CHECK_EQUAL(a.id, 42);
  CAF_CHECK_EQUAL(a.username, "alice");
  CAF_CHECK_EQUAL(a.password_hash, "hash");
  CAF_CHECK_EQUAL(a.locale, "en");  // none given
  r.locale = "de";
  CAF_CHECK_EQUAL(accounts_rules::account_of(r, 42, "hash").locale, "de");
  auto t = accounts_rules::first_token(r, account_id{42}, "tok", 1700000000);
  CAF_CHECK_EQUAL(t.access_token, "tok");
  CAF_CHECK_EQUAL(t.scopes, (std::vector<std::string>{"read", "write"}));
  CAF_CHECK_EQUAL(t.account_id.value(), 42);
  CAF_CHECK_EQUAL(t.created_at, 1700000000);
}

CAF_TEST(instance counts stay fresh for sixty seconds) {
  accounts_rules::stats_cache cache;
  std::chrono::steady_clock::time_point t0{std::chrono::hours(5)};
  CAF_CHECK(!cache.fresh(t0));
  instance_stats s;
  s.user_count = 3;
  cache.put(s, t0);
  auto hit = cache.fresh(t0 + std::chrono::seconds(59));
  CAF_REQUIRE(hit);
  CAF_CHECK_EQUAL(hit->user_count, 3);
  CAF_CHECK(!cache.fresh(t0 + std::chrono::seconds(60)));
}

// ---- The actor, with a stub pool ------------------------------------------------

namespace {

struct accounts_fixture : test::stub_fixture {
  accounts_actor accounts = spawn_accounts(sys, accounts_options{}, pool, cpu, ids, reg);
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(accounts_actor_tests, accounts_fixture)

CAF_TEST(instance counts are loaded once a minute by the actor clock) {
  CAF_REQUIRE(ask<instance_stats>(accounts, instance_query{}).value);
  CAF_REQUIRE(ask<instance_stats>(accounts, instance_query{}).value);
  CAF_CHECK_EQUAL(db->count("accounts.instance_stats"), 1u);  // the second from the cache
  advance_time(std::chrono::seconds(61));
  CAF_REQUIRE(ask<instance_stats>(accounts, instance_query{}).value);
  CAF_CHECK_EQUAL(db->count("accounts.instance_stats"), 2u);
}

CAF_TEST(a failed load is answered with the pool error and not cached) {
  db->fail = make_error(errc::overloaded, "queue full");
  auto got = ask<instance_stats>(accounts, instance_query{});
  CAF_REQUIRE(got.received);
  CAF_CHECK_EQUAL(test::code(got.error), "overloaded");
  db->fail = {};
  CAF_CHECK(ask<instance_stats>(accounts, instance_query{}).value);
  CAF_CHECK_EQUAL(db->count("accounts.instance_stats"), 2u);
}

CAF_TEST(a registration stops at the first failing step) {
  db->fail = make_error(errc::unavailable, "no database here");
  registration r;
  r.username = "alice";
  r.password = "pw";
  auto got = ask<token_issued>(accounts, r);
  CAF_REQUIRE(got.received);
  CAF_CHECK_EQUAL(test::code(got.error), "unavailable");
  CAF_CHECK_EQUAL(db->calls, (std::vector<std::string>{"accounts.registrations_open"}));
  CAF_CHECK(cpu_log->calls.empty());  // no password hashed
  CAF_CHECK_EQUAL(counter("accounts", "registrations"), 0);
  CAF_CHECK_EQUAL(counter("accounts", "refused"), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()
