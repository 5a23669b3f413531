// The OAuth actor's decisions (actors/accounts/oauth_rules.cpp), called directly.
// The actor itself runs against the real pools and Postgres in
// tests/storage/oauth_actor_pgtest.cpp.
#define CAF_SUITE oauth
#include "actors/accounts/oauth_state.hpp"
#include "common/crypto.hpp"
#include "tests/actors/checks.hpp"

using namespace chorus;
using namespace chorus::actors;
namespace pg = chorus::storage::pg;

namespace {

pg::app_row sample_app() {
  pg::app_row app;
  app.id = app_id{7};
  app.name = "Sample";
  app.redirect_uris = {"https://app.example/cb"};
  app.scopes = "read write";
  app.client_id = "client-7";
  app.client_secret_hash = crypto::sha256_hex("s3cret");
  return app;
}

token_grant grant_with(std::string secret, std::vector<std::string> scopes = {}) {
  token_grant g;
  g.grant_type = "client_credentials";
  g.client_id = "client-7";
  g.client_secret = std::move(secret);
  g.scopes = std::move(scopes);
  return g;
}

authorize_check check_for(std::string redirect, std::vector<std::string> scopes = {}) {
  return authorize_check{"client-7", std::move(redirect), std::move(scopes)};
}

} // namespace

// ---- Decisions, without an actor system ---------------------------------------

CAF_TEST(a grant from an unknown client or with a wrong secret is invalid_client) {
  auto unknown = oauth_rules::grant_scopes(std::nullopt, grant_with("s3cret"));
  CAF_REQUIRE(!unknown);
  CAF_CHECK_EQUAL(test::code(unknown.error()), "unauthorized");
  CAF_CHECK_EQUAL(description_of(unknown.error()), "invalid_client: client authentication failed");
  auto wrong = oauth_rules::grant_scopes(sample_app(), grant_with("guess"));
  CAF_REQUIRE(!wrong);
  CAF_CHECK_EQUAL(description_of(wrong.error()), "invalid_client: client authentication failed");
}

CAF_TEST(a grant carries the app scopes unless it asks for fewer and never more) {
  auto all = oauth_rules::grant_scopes(sample_app(), grant_with("s3cret"));
  CAF_REQUIRE(all);
  CAF_CHECK_EQUAL(*all, (std::vector<std::string>{"read", "write"}));
  auto fewer = oauth_rules::grant_scopes(sample_app(), grant_with("s3cret", {"read:accounts"}));
  CAF_REQUIRE(fewer);
  CAF_CHECK_EQUAL(*fewer, (std::vector<std::string>{"read:accounts"}));
  auto more = oauth_rules::grant_scopes(sample_app(), grant_with("s3cret", {"read", "admin:read"}));
  CAF_REQUIRE(!more);
  CAF_CHECK_EQUAL(test::code(more.error()), "bad_request");
  CAF_CHECK_EQUAL(description_of(more.error()), "invalid_scope: the requested scope exceeds the application's scopes");
  auto odd = sample_app();
  odd.scopes = "read bogus";  // does not parse: the app counts as "read" only
  CAF_CHECK(!oauth_rules::grant_scopes(odd, grant_with("s3cret", {"write"})));
}

CAF_TEST(an authorization request needs a known client and a registered redirect uri) {
  auto unknown = oauth_rules::authorized_scopes(std::nullopt, check_for("https://app.example/cb"));
  CAF_REQUIRE(!unknown);
  CAF_CHECK_EQUAL(test::code(unknown.error()), "bad_request");
  CAF_CHECK_EQUAL(description_of(unknown.error()), "invalid_client: unknown client_id");
  auto elsewhere = oauth_rules::authorized_scopes(sample_app(), check_for("https://evil.example/cb"));
  CAF_REQUIRE(!elsewhere);
  CAF_CHECK_EQUAL(description_of(elsewhere.error()),
                  "invalid_request: redirect_uri is not registered for this application");
  auto beyond = oauth_rules::authorized_scopes(sample_app(), check_for("https://app.example/cb", {"follow"}));
  CAF_REQUIRE(!beyond);
  auto ok = oauth_rules::authorized_scopes(sample_app(), check_for("https://app.example/cb", {"read"}));
  CAF_REQUIRE(ok);
  CAF_CHECK_EQUAL(*ok, (std::vector<std::string>{"read"}));
}

CAF_TEST(logins are refused alike for unknown users and wrong passwords) {
  pg::login_row login;
  login.account.id = account_id{5};
  CAF_CHECK(!oauth_rules::check_login(login, true));
  auto unknown = oauth_rules::check_login(std::nullopt, true);
  auto wrong = oauth_rules::check_login(login, false);
  CAF_CHECK_EQUAL(description_of(unknown), "invalid_grant: the username or password is wrong");
  CAF_CHECK_EQUAL(description_of(wrong), description_of(unknown));
  login.disabled = true;
  CAF_CHECK_EQUAL(description_of(oauth_rules::check_login(login, true)), "invalid_grant: this account is disabled");
  // The authorization page does not even tell a disabled account apart.
  auto page = oauth_rules::check_sign_in(login, true);
  CAF_CHECK_EQUAL(test::code(page), "unauthorized");
  CAF_CHECK_EQUAL(description_of(page), "access_denied: the username or password is wrong");
  login.disabled = false;
  CAF_CHECK(!oauth_rules::check_sign_in(login, true));
  CAF_CHECK(oauth_rules::check_sign_in(login, false));
}

CAF_TEST(a token speaks for its user unless unknown or the user is disabled) {
  CAF_CHECK(!oauth_rules::context_of(std::nullopt));
  pg::token_row row{token_id{3}, app_id{7}, account_id{5}, "read write:statuses", 0, true, false};
  auto ctx = oauth_rules::context_of(row);
  CAF_REQUIRE(ctx);
  CAF_CHECK_EQUAL(ctx->token_id.value(), 3);
  CAF_CHECK_EQUAL(ctx->account_id.value(), 5);
  CAF_CHECK_EQUAL(ctx->scopes, (std::vector<std::string>{"read", "write:statuses"}));
  CAF_CHECK(ctx->admin);
  row.disabled = true;
  auto refused = oauth_rules::context_of(row);
  CAF_REQUIRE(!refused);
  CAF_CHECK_EQUAL(description_of(refused.error()), "The access token is invalid");
}

CAF_TEST(an application is stored with a digest of its secret and shown without it) {
  app_spec spec{"Sample", "https://app.example", {"https://app.example/cb"}, {"read", "follow"}};
  auto made = oauth_rules::new_app(spec, app_id{7}, "cid", "secret");
  CAF_CHECK_EQUAL(made.client_secret, "secret");
  auto row = oauth_rules::stored_app(made);
  CAF_CHECK_EQUAL(row.client_secret_hash, crypto::sha256_hex("secret"));
  CAF_CHECK_EQUAL(row.scopes, "read follow");
  auto shown = oauth_rules::public_app(row);
  CAF_CHECK_EQUAL(shown.name, "Sample");
  CAF_CHECK_EQUAL(shown.scopes, (std::vector<std::string>{"read", "follow"}));
  CAF_CHECK(shown.client_id.empty());
  CAF_CHECK(shown.client_secret.empty());
}
