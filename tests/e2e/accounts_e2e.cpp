// Apps, OAuth and accounts through a real chorusd, as a Mastodon client uses them.
#include "support/harness.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <regex>

using namespace chorus::test;

namespace {

const std::vector<std::string> form = {"Content-Type: application/x-www-form-urlencoded"};
const std::vector<std::string> json_ct = {"Content-Type: application/json"};

std::vector<std::string> auth(const std::string& token, std::vector<std::string> more = {}) {
  more.push_back("Authorization: Bearer " + token);
  return more;
}

struct Accounts : ::testing::Test {
  temp_database db;
  std::unique_ptr<chorusd> d;
  std::string client_id, client_secret, app_token;

  void SetUp() override {
    d = std::make_unique<chorusd>(db.dsn());
    auto app = http("POST", d->url("/api/v1/apps"),
                    "client_name=tests&redirect_uris=urn:ietf:wg:oauth:2.0:oob&scopes=read+write+follow", form);
    ASSERT_EQ(app.status, 200) << app.body;
    client_id = app.json()["client_id"];
    client_secret = app.json()["client_secret"];
    auto tok = http("POST", d->url("/oauth/token"),
                    "grant_type=client_credentials&client_id=" + client_id + "&client_secret=" + client_secret +
                      "&scope=read+write",
                    form);
    ASSERT_EQ(tok.status, 200) << tok.body;
    app_token = tok.json()["access_token"];
  }

  http_response register_user(const std::string& username, const std::string& email,
                              const std::string& password = "a-long-password", const std::string& token = {}) {
    nlohmann::json body = {{"username", username}, {"email", email}, {"password", password}, {"agreement", true}};
    return http("POST", d->url("/api/v1/accounts"), body.dump(),
                auth(token.empty() ? app_token : token, json_ct));
  }

  http_response password_grant(const std::string& login, const std::string& password,
                               const std::string& scope = "read write") {
    nlohmann::json body = {{"grant_type", "password"}, {"client_id", client_id}, {"client_secret", client_secret},
                           {"username", login}, {"password", password}, {"scope", scope}};
    return http("POST", d->url("/oauth/token"), body.dump(), json_ct);
  }

  std::string count(const std::string& table) { return db.query_value("SELECT count(*) FROM " + table); }
};

} // namespace

TEST_F(Accounts, AppCreationMatchesMastodon) {
  auto app = http("POST", d->url("/api/v1/apps"),
                  R"({"client_name":"x","redirect_uris":["https://app.example/cb"],"website":"https://app.example"})",
                  json_ct);
  ASSERT_EQ(app.status, 200) << app.body;
  auto j = app.json();
  EXPECT_TRUE(j["id"].is_string());
  EXPECT_EQ(j["scopes"], nlohmann::json::array({"read"}));
  EXPECT_EQ(j["redirect_uri"], "https://app.example/cb");
  EXPECT_EQ(j["client_id"].get<std::string>().size(), 43u);
  // The secret is stored only as a digest.
  EXPECT_EQ(db.query_value("SELECT count(*) FROM oauth_apps WHERE client_secret_hash = '" +
                           j["client_secret"].get<std::string>() + "'"),
            "0");
  EXPECT_EQ(http("POST", d->url("/api/v1/apps"), "redirect_uris=urn:ietf:wg:oauth:2.0:oob", form).status, 422);
  EXPECT_EQ(http("POST", d->url("/api/v1/apps"), "client_name=x", form).status, 422);
  EXPECT_EQ(http("POST", d->url("/api/v1/apps"), "client_name=x&redirect_uris=urn:ietf:wg:oauth:2.0:oob&scopes=root",
                 form).status,
            422);
  auto verify = get(d->url("/api/v1/apps/verify_credentials"), auth(app_token));
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_EQ(verify.json()["scopes"], nlohmann::json::array({"read", "write"}));
}

TEST_F(Accounts, RegisterSignInVerifyUpdateAndRevoke) {
  auto reg = register_user("alice", "alice@example.com");
  ASSERT_EQ(reg.status, 200) << reg.body;
  auto first = reg.json()["access_token"].get<std::string>();
  EXPECT_EQ(reg.json()["token_type"], "Bearer");

  auto me = get(d->url("/api/v1/accounts/verify_credentials"), auth(first));
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json()["username"], "alice");
  EXPECT_EQ(me.json()["source"]["privacy"], "public");
  auto id = me.json()["id"].get<std::string>();

  auto tok = password_grant("alice@example.com", "a-long-password");
  ASSERT_EQ(tok.status, 200) << tok.body;
  auto token = tok.json()["access_token"].get<std::string>();
  EXPECT_EQ(tok.json()["scope"], "read write");
  EXPECT_EQ(password_grant("ALICE", "a-long-password").status, 200);  // username works too, any case

  auto upd = http("PATCH", d->url("/api/v1/accounts/update_credentials"),
                  R"({"display_name":"Alice A.","note":"hello <world>","locked":"true"})", auth(token, json_ct));
  ASSERT_EQ(upd.status, 200) << upd.body;
  EXPECT_EQ(upd.json()["display_name"], "Alice A.");
  EXPECT_EQ(upd.json()["note"], "<p>hello &lt;world&gt;</p>");
  EXPECT_EQ(upd.json()["source"]["note"], "hello <world>");
  EXPECT_EQ(upd.json()["locked"], true);

  auto byid = get(d->url("/api/v1/accounts/" + id));
  ASSERT_EQ(byid.status, 200);
  EXPECT_EQ(byid.json()["display_name"], "Alice A.");
  EXPECT_FALSE(byid.json().contains("source"));
  EXPECT_EQ(get(d->url("/api/v1/accounts/lookup?acct=@Alice")).json()["id"], id);

  auto rev = http("POST", d->url("/oauth/revoke"),
                  "client_id=" + client_id + "&client_secret=" + client_secret + "&token=" + token, form);
  EXPECT_EQ(rev.status, 200) << rev.body;
  EXPECT_EQ(get(d->url("/api/v1/accounts/verify_credentials"), auth(token)).status, 401);
  EXPECT_EQ(get(d->url("/api/v1/accounts/verify_credentials"), auth(first)).status, 200);
  // Tokens are stored only as digests.
  EXPECT_EQ(db.query_value("SELECT count(*) FROM oauth_tokens WHERE token_hash = '" + first + "'"), "0");
}

TEST_F(Accounts, OAuthErrorsFollowRfc6749) {
  ASSERT_EQ(register_user("bob", "bob@example.com").status, 200);
  auto wrong_pw = password_grant("bob@example.com", "nope-nope-nope");
  EXPECT_EQ(wrong_pw.status, 400);
  EXPECT_EQ(wrong_pw.json()["error"], "invalid_grant");
  auto unknown = password_grant("nobody@example.com", "whatever-password");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.json()["error"], "invalid_grant");
  auto bad_secret = http("POST", d->url("/oauth/token"),
                         "grant_type=client_credentials&client_id=" + client_id + "&client_secret=wrong", form);
  EXPECT_EQ(bad_secret.status, 401);
  EXPECT_EQ(bad_secret.json()["error"], "invalid_client");
  auto grant_type = http("POST", d->url("/oauth/token"), "grant_type=implicit&client_id=a&client_secret=b", form);
  EXPECT_EQ(grant_type.status, 400);
  EXPECT_EQ(grant_type.json()["error"], "unsupported_grant_type");
  auto too_wide = password_grant("bob@example.com", "a-long-password", "read admin:write");
  EXPECT_EQ(too_wide.status, 400);
  EXPECT_EQ(too_wide.json()["error"], "invalid_scope");
  auto revoke_other = http("POST", d->url("/oauth/revoke"), "client_id=" + client_id + "&client_secret=x&token=y", form);
  EXPECT_EQ(revoke_other.status, 403);
  EXPECT_EQ(revoke_other.json()["error"], "unauthorized_client");
}

TEST_F(Accounts, RegistrationValidatesAndWritesNothingOnFailure) {
  auto details = [](const http_response& r, const char* field) {
    return r.status == 422 && r.json()["details"].contains(field);
  };
  EXPECT_TRUE(details(register_user("no spaces", "x@example.com"), "username"));
  EXPECT_TRUE(details(register_user("x", "not-an-email"), "email"));
  EXPECT_TRUE(details(register_user("x", "x@example.com", "short"), "password"));
  auto no_agreement = http("POST", d->url("/api/v1/accounts"),
                           R"({"username":"x","email":"x@example.com","password":"a-long-password"})",
                           auth(app_token, json_ct));
  EXPECT_TRUE(details(no_agreement, "agreement")) << no_agreement.body;
  EXPECT_EQ(count("accounts"), "0");

  ASSERT_EQ(register_user("carol", "carol@example.com").status, 200);
  auto tokens_before = count("oauth_tokens");
  auto dup_name = register_user("Carol", "other@example.com");
  EXPECT_TRUE(details(dup_name, "username")) << dup_name.body;
  EXPECT_EQ(dup_name.json()["details"]["username"][0]["error"], "ERR_TAKEN");
  auto dup_mail = register_user("carol2", "CAROL@example.com");
  EXPECT_TRUE(details(dup_mail, "email")) << dup_mail.body;
  EXPECT_EQ(count("accounts"), "1");
  EXPECT_EQ(count("users"), "1");
  EXPECT_EQ(count("oauth_tokens"), tokens_before);
}

TEST_F(Accounts, TokensAndScopesAreEnforced) {
  EXPECT_EQ(http("POST", d->url("/api/v1/accounts"), "{}", json_ct).status, 401);
  EXPECT_EQ(register_user("dave", "dave@example.com", "a-long-password", "made-up-token").status, 401);
  // A read-only app token may not register.
  auto ro = http("POST", d->url("/oauth/token"),
                 "grant_type=client_credentials&client_id=" + client_id + "&client_secret=" + client_secret +
                   "&scope=read",
                 form);
  ASSERT_EQ(ro.status, 200);
  auto read_only = ro.json()["access_token"].get<std::string>();
  EXPECT_EQ(register_user("dave", "dave@example.com", "a-long-password", read_only).status, 403);
  // An app token is not a user.
  EXPECT_EQ(get(d->url("/api/v1/accounts/verify_credentials"), auth(app_token)).status, 422);
  // A read-only user token may not edit the profile.
  ASSERT_EQ(register_user("dave", "dave@example.com").status, 200);
  auto user_ro = password_grant("dave", "a-long-password", "read");
  ASSERT_EQ(user_ro.status, 200);
  auto r = http("PATCH", d->url("/api/v1/accounts/update_credentials"), R"({"display_name":"D"})",
                auth(user_ro.json()["access_token"], json_ct));
  EXPECT_EQ(r.status, 403);
  auto long_name = http("PATCH", d->url("/api/v1/accounts/update_credentials"),
                        nlohmann::json({{"display_name", std::string(31, 'x')}}).dump(),
                        auth(password_grant("dave", "a-long-password").json()["access_token"], json_ct));
  EXPECT_EQ(long_name.status, 422);
}

TEST_F(Accounts, UnknownAccountsAre404) {
  EXPECT_EQ(get(d->url("/api/v1/accounts/123456789")).status, 404);
  EXPECT_EQ(get(d->url("/api/v1/accounts/abc")).status, 404);
  EXPECT_EQ(get(d->url("/api/v1/accounts/lookup?acct=nobody")).status, 404);
  EXPECT_EQ(get(d->url("/api/v1/accounts/lookup")).status, 404);
  ASSERT_EQ(register_user("local", "local@example.com").status, 200);
  EXPECT_EQ(get(d->url("/api/v1/accounts/lookup?acct=local")).status, 200);
  EXPECT_EQ(get(d->url("/api/v1/accounts/lookup?acct=local@elsewhere.example")).status, 404);  // not us
  EXPECT_EQ(get(d->url("/api/v1/accounts/lookup?acct=local@127.0.0.1:" + std::to_string(d->port()))).status, 200);
}

TEST_F(Accounts, ChorusctlCreatesAccountsAndClosesRegistrations) {
  auto dir = make_temp_dir("ctl");
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), CHORUS_CHORUSCTL_PATH);
    process p(args, {{"CHORUS_PG_DSN", db.dsn()}}, dir + "/out");
    auto rc = p.wait(std::chrono::seconds(30));
    std::ifstream in(dir + "/out");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::make_pair(rc, text);
  };
  auto [rc, out] = ctl({"accounts", "create", "erin", "--email", "erin@example.com", "--admin", "--confirmed"});
  ASSERT_EQ(rc, 0) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("New password: (\\S+)"))) << out;
  EXPECT_EQ(password_grant("erin", m[1]).status, 200);
  EXPECT_EQ(db.query_value("SELECT admin FROM users u JOIN accounts a ON a.id = u.account_id WHERE a.username = 'erin'"), "t");
  EXPECT_NE(ctl({"accounts", "create", "erin", "--email", "e2@example.com"}).first, 0);

  ASSERT_EQ(ctl({"settings", "registrations", "closed"}).first, 0);
  auto closed = register_user("frank", "frank@example.com");
  EXPECT_EQ(closed.status, 403) << closed.body;
  ASSERT_EQ(ctl({"settings", "registrations", "open"}).first, 0);
  EXPECT_EQ(register_user("frank", "frank@example.com").status, 200);
}

TEST(AccountsCluster, RevocationReachesOtherNodesWithinTheCacheTtl) {
  temp_database db;
  chorusd a(db.dsn(), {{"CHORUS_OAUTH_CACHE_TTL_MS", "300"}});
  chorusd b(db.dsn(), {{"CHORUS_OAUTH_CACHE_TTL_MS", "300"}});
  auto app = http("POST", a.url("/api/v1/apps"), "client_name=c&redirect_uris=urn:ietf:wg:oauth:2.0:oob&scopes=read",
                  form).json();
  auto tok = http("POST", a.url("/oauth/token"),
                  "grant_type=client_credentials&client_id=" + app["client_id"].get<std::string>() +
                    "&client_secret=" + app["client_secret"].get<std::string>(),
                  form)
               .json()["access_token"]
               .get<std::string>();
  ASSERT_EQ(get(b.url("/api/v1/apps/verify_credentials"), auth(tok)).status, 200);  // now cached on b
  ASSERT_EQ(http("POST", a.url("/oauth/revoke"),
                 "client_id=" + app["client_id"].get<std::string>() +
                   "&client_secret=" + app["client_secret"].get<std::string>() + "&token=" + tok,
                 form)
              .status,
            200);
  EXPECT_EQ(get(a.url("/api/v1/apps/verify_credentials"), auth(tok)).status, 401);
  EXPECT_TRUE(wait_until([&] { return get(b.url("/api/v1/apps/verify_credentials"), auth(tok)).status == 401; },
                         std::chrono::seconds(5)));
}

TEST_F(Accounts, AuthorizationCodeFlow) {
  ASSERT_EQ(register_user("gina", "gina@example.com").status, 200);
  auto app = http("POST", d->url("/api/v1/apps"),
                  R"({"client_name":"Web <App>","redirect_uris":["https://app.example/cb","urn:ietf:wg:oauth:2.0:oob"],"scopes":"read write"})",
                  json_ct)
               .json();
  std::string cid = app["client_id"], secret = app["client_secret"];
  auto query = "response_type=code&client_id=" + cid + "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=read&state=s%201";
  auto page = get(d->url("/oauth/authorize?" + query));
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("Web &lt;App&gt;"), std::string::npos);  // escaped, never raw
  EXPECT_EQ(page.body.find("Web <App>"), std::string::npos);
  EXPECT_NE(page.body.find("name=\"password\""), std::string::npos);
  auto bad_uri = get(d->url("/oauth/authorize?response_type=code&client_id=" + cid + "&redirect_uri=https%3A%2F%2Fevil.example"));
  EXPECT_EQ(bad_uri.status, 400);
  EXPECT_EQ(bad_uri.json()["error"], "invalid_request");

  auto form_body = query + "&username=gina&password=";
  auto wrong = http("POST", d->url("/oauth/authorize"), form_body + "wrong-password", form);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("wrong"), std::string::npos);
  auto ok = http("POST", d->url("/oauth/authorize"), form_body + "a-long-password", form);
  ASSERT_EQ(ok.status, 302) << ok.body;
  auto location = ok.header("location");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(location, m, std::regex("https://app\\.example/cb\\?code=([A-Za-z0-9_-]+)&state=s%201")))
    << location;
  std::string code = m[1];

  auto exchange = [&](const std::string& c, const std::string& uri) {
    return http("POST", d->url("/oauth/token"),
                nlohmann::json({{"grant_type", "authorization_code"}, {"code", c}, {"redirect_uri", uri},
                                {"client_id", cid}, {"client_secret", secret}})
                  .dump(),
                json_ct);
  };
  EXPECT_EQ(exchange(code, "https://other.example/cb").json()["error"], "invalid_grant");
  auto tok = exchange(code, "https://app.example/cb");
  ASSERT_EQ(tok.status, 200) << tok.body;
  EXPECT_EQ(tok.json()["scope"], "read");
  EXPECT_EQ(tok.header("cache-control"), "no-store");
  auto me = get(d->url("/api/v1/accounts/verify_credentials"), auth(tok.json()["access_token"]));
  EXPECT_EQ(me.json()["username"], "gina");
  auto again = exchange(code, "https://app.example/cb");  // single use
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.json()["error"], "invalid_grant");

  // Out-of-band: the code is shown to the user instead of redirecting.
  auto oob = http("POST", d->url("/oauth/authorize"),
                  "response_type=code&client_id=" + cid +
                    "&redirect_uri=urn:ietf:wg:oauth:2.0:oob&username=gina&password=a-long-password",
                  form);
  ASSERT_EQ(oob.status, 200);
  ASSERT_TRUE(std::regex_search(oob.body, m, std::regex("<code id=\"code\">([A-Za-z0-9_-]+)</code>")));
  EXPECT_EQ(exchange(m[1], "urn:ietf:wg:oauth:2.0:oob").status, 200);
}
