// The accounts actor's decisions (actors/accounts/accounts.cpp), called directly.
// The actor itself runs against the real pools and Postgres in
// tests/storage/accounts_actor_pgtest.cpp.
#define CAF_SUITE accounts
#include "actors/accounts/accounts_state.hpp"
#include "tests/actors/checks.hpp"

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
