// Hostile and unusual input at the HTTP edge, through a real chorusd: invalid
// UTF-8 and NUL on every route that takes text, one client's bad posts while
// others post, HEAD on GET routes over keep-alive, unbounded fields, limits
// above the maximum, multipart/form-data bodies as client libraries send them,
// and the Application entity. Each test is the regression test of a defect
// found by outside testing (issue #12).
#include "support/client.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <future>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

using namespace chorus::test;

namespace {

const std::vector<std::string> form = {"Content-Type: application/x-www-form-urlencoded"};
const std::vector<std::string> json_ct = {"Content-Type: application/json"};

// A multipart/form-data body of text fields, as client libraries build them.
std::string multipart(const std::vector<std::pair<std::string, std::string>>& fields, const std::string& boundary) {
  std::string out;
  for (auto& [k, v] : fields)
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + v + "\r\n";
  return out + "--" + boundary + "--\r\n";
}
std::string mp_header(const std::string& boundary) {
  return "Content-Type: multipart/form-data; boundary=" + boundary;
}

// Every error is a JSON object with "error", and a client error is never 5xx.
void expect_client_error(const http_response& r, long status, const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.body;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_TRUE(j.is_object() && j.contains("error")) << what << ": " << r.body;
}

struct Edge : client_fixture {
  std::string cid, secret;
  void SetUp() override {
    start();
    auto app = http("POST", d->url("/api/v1/apps"),
                    "client_name=edge&redirect_uris=urn:ietf:wg:oauth:2.0:oob&scopes=read+write+follow", form)
                 .json();
    cid = app["client_id"];
    secret = app["client_secret"];
  }
};

// A raw keep-alive connection: what a client reads after a HEAD is the next response.
struct raw_conn {
  int fd = -1;
  explicit raw_conn(std::uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~raw_conn() {
    if (fd >= 0)
      ::close(fd);
  }
  void send_all(const std::string& s) const {
    for (std::size_t off = 0; off < s.size();) {
      auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0)
        return;
      off += static_cast<std::size_t>(n);
    }
  }
  // Reads until `pred(buffer)` or the connection closes / times out.
  std::string read_until(const std::function<bool(const std::string&)>& pred) const {
    std::string buf;
    char tmp[4096];
    while (!pred(buf)) {
      auto n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0)
        break;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    return buf;
  }
};

std::size_t content_length(const std::string& head) {
  auto lower = head;
  for (auto& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = lower.find("content-length:");
  return at == std::string::npos ? std::string::npos : std::stoul(lower.substr(at + 15));
}

} // namespace

// Four clients post valid statuses while a fifth sends a NUL every few ms: none
// of the valid posts fails (it was 34% 500s when the bad item failed its batch).
TEST_F(Edge, OneClientsBadPostsNeverFailOtherClientsPosts) {
  auto evil = user("mallory");
  std::vector<who> good;
  for (int i = 0; i < 4; ++i)
    good.push_back(user("poster" + std::to_string(i)));
  std::atomic<bool> stop{false};
  std::atomic<int> bad_answers{0}, bad_5xx{0};
  auto attacker = std::async(std::launch::async, [&] {
    while (!stop.load()) {
      auto r = http("POST", d->url("/api/v1/statuses"), "status=evil%00post", auth(evil, form));
      ++bad_answers;
      if (r.status >= 500 || r.status == 0)
        ++bad_5xx;
      // JSON's \u0000 and raw invalid UTF-8 in a form take other decoders.
      http("POST", d->url("/api/v1/statuses"), R"({"status":"evil\u0000json"})", auth(evil, json_ct));
      http("POST", d->url("/api/v1/statuses"), "status=%FF%FEbad", auth(evil, form));
    }
  });
  std::vector<std::future<std::vector<long>>> posters;
  for (auto& g : good)
    posters.push_back(std::async(std::launch::async, [&, g] {
      std::vector<long> statuses;
      for (int i = 0; i < 40; ++i)
        statuses.push_back(http("POST", d->url("/api/v1/statuses"),
                                nlohmann::json({{"status", "fine post " + std::to_string(i)}}).dump(),
                                auth(g, json_ct))
                             .status);
      return statuses;
    }));
  int ok = 0, failed = 0;
  for (auto& f : posters)
    for (auto s : f.get())
      (s == 200 ? ok : failed)++;
  stop = true;
  attacker.get();
  EXPECT_EQ(failed, 0) << "valid posts refused while another client sent NUL bytes";
  EXPECT_EQ(ok, 160);
  EXPECT_GT(bad_answers.load(), 0);
  EXPECT_EQ(bad_5xx.load(), 0);
  auto bad = http("POST", d->url("/api/v1/statuses"), "status=evil%00post", auth(evil, form));
  expect_client_error(bad, 422, "NUL in status");
  EXPECT_NE(bad.json()["error_description"].get<std::string>().find("status"), std::string::npos) << bad.body;
  EXPECT_EQ(db.query_value("SELECT count(*) FROM statuses WHERE account_id = " + evil.id), "0");
}

// Invalid UTF-8 and NUL bytes on every route that takes text: a clear 4xx with
// the JSON error body, never a 500.
TEST_F(Edge, InvalidUtf8AndNulAreClientErrorsEverywhere) {
  auto alice = user("alice");
  auto app_auth = std::vector<std::string>{form[0], "Authorization: Bearer " + app_token};
  struct probe {
    std::string method, path, body;
    std::vector<std::string> headers;
  };
  std::vector<probe> probes;
  for (auto bad : {"%FF", "%00", "a%C0%AFb", "%ED%A0%80"}) {
    std::string b = bad;
    probes.push_back({"POST", "/api/v1/statuses", "status=" + b, auth(alice, form)});
    probes.push_back({"POST", "/api/v1/statuses", "status=ok&spoiler_text=" + b, auth(alice, form)});
    probes.push_back({"POST", "/api/v1/statuses", "status=ok&language=" + b, auth(alice, form)});
    probes.push_back({"POST", "/api/v1/apps", "client_name=" + b + "&redirect_uris=urn:ietf:wg:oauth:2.0:oob", form});
    probes.push_back({"POST", "/api/v1/apps", "client_name=x&website=https://x/" + b +
                                                "&redirect_uris=urn:ietf:wg:oauth:2.0:oob", form});
    probes.push_back({"POST", "/oauth/token", "grant_type=client_credentials&client_id=" + b + "&client_secret=x", form});
    probes.push_back({"POST", "/oauth/token", "grant_type=password&client_id=" + cid + "&client_secret=" + secret +
                                                "&username=" + b + "&password=x", form});
    probes.push_back({"POST", "/oauth/revoke", "client_id=" + b + "&client_secret=x&token=y", form});
    probes.push_back({"GET", "/oauth/authorize?response_type=code&redirect_uri=urn:ietf:wg:oauth:2.0:oob&client_id=" + b,
                      "", {}});
    probes.push_back({"GET", "/api/v1/timelines/tag/" + b, "", {}});
    probes.push_back({"GET", "/api/v1/accounts/lookup?acct=" + b, "", {}});
    probes.push_back({"POST", "/api/v1/accounts", "username=eve&email=" + b + "%40x.org&password=a-long-password&agreement=true",
                      app_auth});
    probes.push_back({"POST", "/api/v1/accounts",
                      "username=eve&email=eve%40x.org&password=a-long-password&agreement=true&locale=" + b, app_auth});
    probes.push_back({"PATCH", "/api/v1/accounts/update_credentials", "display_name=" + b, auth(alice, form)});
    probes.push_back({"PATCH", "/api/v1/accounts/update_credentials", "note=" + b, auth(alice, form)});
    probes.push_back({"GET", "/api/v1/chorus/admin/jobs?queue=" + b, "", {}});
    probes.push_back({"GET", "/api/v1/timelines/public?max_id=" + b, "", {}});
  }
  for (auto& p : probes) {
    auto r = http(p.method, d->url(p.path), p.body, p.headers);
    auto what = p.method + " " + p.path + " " + p.body;
    EXPECT_TRUE(r.status == 400 || r.status == 422) << what << " → " << r.status << " " << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("error")) << what << ": " << r.body;
  }
  // JSON bodies: \u0000 is refused; invalid UTF-8 is an undecodable body (400).
  expect_client_error(http("POST", d->url("/api/v1/statuses"), R"({"status":"a\u0000b"})", auth(alice, json_ct)), 422,
                      "JSON NUL");
  expect_client_error(http("PATCH", d->url("/api/v1/accounts/update_credentials"), "{\"note\":\"\xff\"}",
                           auth(alice, json_ct)),
                      400, "JSON invalid UTF-8");
  // The Idempotency-Key header is stored with the status: the HTTP parser lets
  // obs-text bytes through, the handler refuses what is not UTF-8.
  expect_client_error(http("POST", d->url("/api/v1/statuses"), "status=hi",
                           auth(alice, {form[0], std::string("Idempotency-Key: a\xff\xfez")})),
                      422, "invalid UTF-8 in Idempotency-Key");
  // Nothing of it was stored, and the server still works for everyone.
  EXPECT_EQ(db.query_value("SELECT count(*) FROM statuses"), "0");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM accounts WHERE username = 'eve'"), "0");
  EXPECT_FALSE(post(alice, "still fine").empty());
}

// HEAD is GET without the body, on every GET route; the next response on the
// same keep-alive connection is read intact.
TEST_F(Edge, HeadIsServedAsGetWithoutABody) {
  auto alice = user("alice");
  post(alice, "hello");
  for (const std::string& path :
       std::vector<std::string>{"/api/v1/instance", "/api/v1/timelines/public", "/health", "/api/v1/accounts/" + alice.id}) {
    auto g = get(d->url(path));
    raw_conn c(d->port());
    ASSERT_GE(c.fd, 0);
    c.send_all("HEAD " + path + " HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    auto buf = c.read_until([](const std::string& b) {
      auto second = b.find("HTTP/1.1", 1);
      return second != std::string::npos && b.find("\r\n\r\n", second) != std::string::npos &&
             b.size() >= b.find("\r\n\r\n", second) + 4 + content_length(b.substr(second));
    });
    auto head_end = buf.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << buf;
    auto head = buf.substr(0, head_end);
    EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << path << ": " << head;
    EXPECT_EQ(content_length(head), g.body.size()) << path << ": the length GET would send";
    // No body bytes: the next thing on the wire is the GET's status line.
    EXPECT_EQ(buf.compare(head_end + 4, 12, "HTTP/1.1 200"), 0) << path << ": " << buf.substr(head_end + 4, 80);
    auto rest = buf.substr(head_end + 4);
    auto second_body = rest.substr(rest.find("\r\n\r\n") + 4);
    EXPECT_EQ(nlohmann::json::parse(second_body, nullptr, false)["status"], "ok") << second_body;
  }
  // HEAD on a route without GET is 405, and Allow names HEAD only where GET is.
  auto r = http("HEAD", d->url("/api/v1/statuses"));
  EXPECT_EQ(r.status, 405);
  EXPECT_TRUE(r.body.empty());
  auto del = http("DELETE", d->url("/api/v1/instance"));
  EXPECT_EQ(del.status, 405);
  EXPECT_NE(del.header("allow").find("HEAD"), std::string::npos) << del.header("allow");
}

// Every stored string has a limit: 100,000 characters are refused with 422.
TEST_F(Edge, StoredStringsAreBounded) {
  auto alice = user("alice");
  std::string huge(100'000, 'a');
  auto app_auth = std::vector<std::string>{form[0], "Authorization: Bearer " + app_token};
  expect_client_error(http("POST", d->url("/api/v1/apps"),
                           "client_name=x&redirect_uris=urn:ietf:wg:oauth:2.0:oob&website=https://" + huge, form),
                      422, "website");
  expect_client_error(http("POST", d->url("/api/v1/apps"), "client_name=" + huge + "&redirect_uris=urn:ietf:wg:oauth:2.0:oob",
                           form),
                      422, "client_name");
  expect_client_error(http("POST", d->url("/api/v1/apps"), "client_name=x&redirect_uris=https://x/" + huge, form), 422,
                      "redirect_uris");
  auto reg = http("POST", d->url("/api/v1/accounts"),
                  "username=eve&email=eve%40x.org&password=a-long-password&agreement=true&locale=" + huge, app_auth);
  expect_client_error(reg, 422, "locale");
  EXPECT_TRUE(reg.json()["details"].contains("locale")) << reg.body;
  expect_client_error(http("PATCH", d->url("/api/v1/accounts/update_credentials"), "note=" + huge, auth(alice, form)), 422,
                      "note");
  expect_client_error(http("POST", d->url("/api/v1/statuses"), "status=hi&language=" + huge, auth(alice, form)), 422,
                      "language");
  expect_client_error(http("POST", d->url("/api/v1/statuses"), "status=hi",
                           auth(alice, {form[0], "Idempotency-Key: " + std::string(300, 'k')})),
                      422, "Idempotency-Key");
  // Secrets are looked up, never stored: an absurd one is simply not valid.
  auto tok = http("POST", d->url("/oauth/token"), "grant_type=client_credentials&client_id=" + huge + "&client_secret=x", form);
  EXPECT_EQ(tok.status, 401) << tok.body;
  EXPECT_EQ(db.query_value("SELECT max(length(coalesce(website, ''))) FROM oauth_apps"), "0");
  EXPECT_EQ(db.query_value("SELECT max(length(locale)) FROM users"), "2");
}

// A limit above the maximum is the maximum (Mastodon clamps), however many digits.
TEST_F(Edge, LimitAboveTheMaximumIsClamped) {
  auto alice = user("alice");
  for (int i = 0; i < 45; ++i)
    ASSERT_FALSE(post(alice, "post " + std::to_string(i)).empty());
  for (auto limit : {"41", "1000", "99999999999999999999999"}) {
    auto r = get(d->url(std::string("/api/v1/timelines/public?limit=") + limit));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().size(), 40u) << "limit=" << limit;
  }
  EXPECT_EQ(get(d->url("/api/v1/timelines/public?limit=3")).json().size(), 3u);
  EXPECT_EQ(get(d->url("/api/v1/timelines/public")).json().size(), 20u);
}

// multipart/form-data on form routes, as Mastodon client libraries send it.
TEST_F(Edge, MultipartBodiesOnFormRoutes) {
  const std::string b = "----chorus-boundary-7MA4YWxkTrZu0gW";
  auto app_auth = std::vector<std::string>{mp_header(b), "Authorization: Bearer " + app_token};
  auto reg = http("POST", d->url("/api/v1/accounts"),
                  multipart({{"username", "carol"}, {"email", "carol@example.com"}, {"password", "a-long-password"},
                             {"agreement", "true"}, {"locale", "pt-BR"}},
                            b),
                  app_auth);
  ASSERT_EQ(reg.status, 200) << reg.body;
  who carol{reg.json()["access_token"], ""};
  carol.id = get(d->url("/api/v1/accounts/verify_credentials"), auth(carol)).json()["id"];
  auto upd = http("PATCH", d->url("/api/v1/accounts/update_credentials"),
                  multipart({{"display_name", "Carol \xc3\xa9"}, {"note", "line one\r\nline two"}, {"locked", "true"}}, b),
                  auth(carol, {mp_header(b)}));
  ASSERT_EQ(upd.status, 200) << upd.body;
  EXPECT_EQ(upd.json()["display_name"], "Carol \xc3\xa9");
  EXPECT_EQ(upd.json()["locked"], true);
  EXPECT_EQ(upd.json()["source"]["note"], "line one\r\nline two");
  // A follow request to the locked account, then its authorization, both as multipart.
  auto dave = user("dave");
  auto fol = http("POST", d->url("/api/v1/accounts/" + carol.id + "/follow"), multipart({{"reblogs", "false"}}, b),
                  auth(dave, {mp_header(b)}));
  ASSERT_EQ(fol.status, 200) << fol.body;
  EXPECT_EQ(fol.json()["requested"], true);
  auto ok = http("POST", d->url("/api/v1/follow_requests/" + dave.id + "/authorize"), multipart({}, b),
                 auth(carol, {mp_header(b)}));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["followed_by"], true);
  auto st = http("POST", d->url("/api/v1/statuses"), multipart({{"status", "from a multipart form"}, {"visibility", "unlisted"}}, b),
                 auth(carol, {mp_header(b)}));
  ASSERT_EQ(st.status, 200) << st.body;
  EXPECT_EQ(st.json()["visibility"], "unlisted");
  // Registration errors are Mastodon's 422 with every failing field in details.
  auto bad = http("POST", d->url("/api/v1/accounts"),
                  multipart({{"username", "no spaces"}, {"email", "nope"}, {"password", "short"}}, b), app_auth);
  ASSERT_EQ(bad.status, 422) << bad.body;
  auto details = bad.json()["details"];
  for (auto field : {"username", "email", "password", "agreement"})
    EXPECT_TRUE(details.contains(field) && details[field][0].contains("error")) << field << ": " << bad.body;
  EXPECT_EQ(details["password"][0]["error"], "ERR_TOO_SHORT");
  EXPECT_EQ(bad.json()["error"].get<std::string>().rfind("Validation failed: ", 0), 0u);
  // A malformed multipart body is 400, not a hang or a 500.
  expect_client_error(http("POST", d->url("/api/v1/statuses"), "--" + b + "\r\nno headers end", auth(carol, {mp_header(b)})),
                      400, "truncated multipart");
}

// GET /api/v1/apps/verify_credentials returns the Application entity clients read.
TEST_F(Edge, AppVerifyCredentialsIsTheApplicationEntity) {
  auto app = http("POST", d->url("/api/v1/apps"),
                  "client_name=My+App&website=https%3A%2F%2Fapp.example&redirect_uris=https%3A%2F%2Fapp.example%2Fcb"
                  "&scopes=read+write",
                  form)
               .json();
  auto tok = http("POST", d->url("/oauth/token"),
                  "grant_type=client_credentials&client_id=" + app["client_id"].get<std::string>() + "&client_secret=" +
                    app["client_secret"].get<std::string>() + "&scope=read",
                  form)
               .json()["access_token"]
               .get<std::string>();
  auto v = get(d->url("/api/v1/apps/verify_credentials"), {"Authorization: Bearer " + tok});
  ASSERT_EQ(v.status, 200) << v.body;
  auto j = v.json();
  EXPECT_EQ(j["id"], app["id"]);
  EXPECT_EQ(j["name"], "My App");
  EXPECT_EQ(j["website"], "https://app.example");
  EXPECT_EQ(j["redirect_uri"], "https://app.example/cb");
  EXPECT_EQ(j["redirect_uris"], nlohmann::json::array({"https://app.example/cb"}));
  EXPECT_EQ(j["scopes"], nlohmann::json::array({"read"})) << "the token's scopes";
  EXPECT_FALSE(j.contains("client_secret"));
  EXPECT_FALSE(j.contains("client_id"));
}

// Memory under load: hot-status cache entries past their ttl are reloaded before
// use, so they are dropped instead of being kept until the cache is full (a
// 10-minute mixed load grew RSS ~1.7 KB per post that way; not a leak).
struct EdgeMemory : client_fixture {
  void SetUp() override { start({{"CHORUS_FEED_HOT_TTL_MS", "1000"}}); }
};

TEST_F(EdgeMemory, ExpiredHotStatusesLeaveTheCache) {
  auto alice = user("alice");
  for (int i = 0; i < 5; ++i)
    ASSERT_FALSE(post(alice, "hot " + std::to_string(i)).empty());
  auto cache_size = [&] {
    auto a = get(d->url("/api/v1/chorus/admin/actors?kind=status_cache")).json();
    return a["actors"].empty() ? -1 : a["actors"][0]["counters"]["size"].get<int>();
  };
  ASSERT_TRUE(wait_until([&] {
    get(d->url("/api/v1/timelines/home"), auth(alice));
    return cache_size() >= 5;
  })) << "home reads fill the hot cache";
  EXPECT_TRUE(wait_until([&] { return cache_size() == 0; }, std::chrono::seconds(15)))
    << "still " << cache_size() << " entries after their ttl";
  // And a read after that loads them again.
  auto home = get(d->url("/api/v1/timelines/home"), auth(alice));
  ASSERT_EQ(home.status, 200);
  EXPECT_EQ(home.json().size(), 5u);
}
