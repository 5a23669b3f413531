// multipart/form-data through a real chorusd, built the way `curl -F` builds it
// (libcurl's mime API: its own boundary, Content-Disposition per part, a
// Content-Type and filename on file parts), and hostile multipart bodies that
// must each be a clear 4xx JSON error.
#include "support/client.hpp"

#include <curl/curl.h>

using namespace chorus::test;

namespace {

struct mime_part {
  std::string name, value, filename, type;  // a file part when filename is set
};

std::size_t collect(char* p, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

// What `curl -X METHOD -F name=value -F "file=@path;type=…" URL` sends.
http_response curl_form(const std::string& method, const std::string& url, const std::vector<mime_part>& parts,
                        const std::vector<std::string>& headers) {
  http_response r;
  CURL* c = curl_easy_init();
  curl_mime* mime = curl_mime_init(c);
  for (auto& p : parts) {
    auto* m = curl_mime_addpart(mime);
    curl_mime_name(m, p.name.c_str());
    curl_mime_data(m, p.value.data(), p.value.size());
    if (!p.filename.empty())
      curl_mime_filename(m, p.filename.c_str());
    if (!p.type.empty())
      curl_mime_type(m, p.type.c_str());
  }
  curl_slist* hs = nullptr;
  for (auto& h : headers)
    hs = curl_slist_append(hs, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (auto rc = curl_easy_perform(c); rc != CURLE_OK)
    r.error = curl_easy_strerror(rc);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(hs);
  curl_mime_free(mime);
  curl_easy_cleanup(c);
  return r;
}

void expect_json_error(const http_response& r, long status, const std::string& needle, const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.body;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object() && j.contains("error")) << what << ": " << r.body;
  EXPECT_NE(j.dump().find(needle), std::string::npos) << what << ": " << r.body;
}

struct Multipart : client_fixture {
  void SetUp() override { start(); }
};

} // namespace

TEST_F(Multipart, StatusAndCredentialsAsCurlSendsThem) {
  auto al = user("al");
  auto st = curl_form("POST", d->url("/api/v1/statuses"),
                      {{"status", "posted with curl -F \xe2\x9c\x93"}, {"visibility", "unlisted"},
                       {"spoiler_text", "cw"}, {"sensitive", "true"}, {"language", "en"}},
                      auth(al));
  ASSERT_EQ(st.status, 200) << st.error << st.body;
  auto s = st.json();
  EXPECT_EQ(s["visibility"], "unlisted");
  EXPECT_EQ(s["spoiler_text"], "cw");
  EXPECT_EQ(s["sensitive"], true);
  EXPECT_NE(s["content"].get<std::string>().find("posted with curl -F \xe2\x9c\x93"), std::string::npos);
  // The status is stored: it reads back.
  EXPECT_EQ(get(d->url("/api/v1/statuses/" + s["id"].get<std::string>()), auth(al)).status, 200);

  // update_credentials with text fields and an image file part (a route that
  // takes no uploads yet ignores it, like an unknown parameter).
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  auto up = curl_form("PATCH", d->url("/api/v1/accounts/update_credentials"),
                      {{"display_name", "Al \xc3\xa9"}, {"note", "two\r\nlines"}, {"locked", "1"},
                       {"avatar", png, "me.png", "image/png"}},
                      auth(al));
  ASSERT_EQ(up.status, 200) << up.error << up.body;
  EXPECT_EQ(up.json()["display_name"], "Al \xc3\xa9");
  EXPECT_EQ(up.json()["locked"], true);
  EXPECT_EQ(up.json()["source"]["note"], "two\r\nlines");
}

TEST_F(Multipart, HostileBodiesAreClear4xx) {
  auto al = user("al");
  const std::string b = "------------------------d74496d66958873e";
  auto ct = [](const std::string& boundary) { return "Content-Type: multipart/form-data; boundary=" + boundary; };
  auto field = [&](const std::string& name, const std::string& value) {
    return "--" + b + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  };
  auto post = [&](const std::string& body, const std::string& content_type) {
    return http("POST", d->url("/api/v1/statuses"), body, auth(al, {content_type}));
  };
  auto end = "--" + b + "--\r\n";
  expect_json_error(post(field("status", "x") + end, "Content-Type: multipart/form-data"), 400, "no boundary",
                    "no boundary");
  expect_json_error(post(field("status", "x") + end, ct(std::string(71, 'b'))), 400, "boundary", "71-char boundary");
  expect_json_error(post(field("status", "x") + end, ct("another")), 400, "no delimiter", "boundary mismatch");
  expect_json_error(post(field("status", "x"), ct(b)), 400, "closing boundary", "no close delimiter");
  expect_json_error(post("--" + b + "\r\nContent-Disposition: form-data; name=\"status\"\r\nX: " + std::string(8000, 'h') +
                           "\r\n\r\nx\r\n" + end,
                         ct(b)),
                    400, "too long", "huge part header");
  std::string many;
  for (int i = 0; i < 3000; ++i)
    many += field("x", "1");
  expect_json_error(post(many + field("status", "x") + end, ct(b)), 400, "too many parts", "3000 parts");
  expect_json_error(post(field("status", "\xff\xfe") + end, ct(b)), 422, "'status'", "non-UTF-8 text part");
  expect_json_error(post(field(std::string("st\0atus", 7), "x") + end, ct(b)), 422, "NUL", "NUL in a name");
  // A status whose text came as a file part has no text.
  auto file_only = curl_form("POST", d->url("/api/v1/statuses"), {{"status", "hello", "status.txt", "text/plain"}}, auth(al));
  expect_json_error(file_only, 422, "blank", "the text as a file part");
  // Nothing was posted by any of these.
  auto mine = get(d->url("/api/v1/accounts/" + get(d->url("/api/v1/accounts/verify_credentials"), auth(al)).json()["id"].get<std::string>() +
                         "/statuses"),
                  auth(al));
  ASSERT_EQ(mine.status, 200);
  EXPECT_EQ(mine.json().size(), 0u) << mine.body;
  // The server is fine afterwards: a well-formed body on the same route works.
  EXPECT_EQ(post(field("status", "still here") + end, ct(b)).status, 200);
}
