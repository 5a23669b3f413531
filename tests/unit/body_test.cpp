// read_body and the responder, driven through a sink that records what the
// session would have written.
#include "http/dto/body.hpp"
#include "http/responder.hpp"

#include <gtest/gtest.h>

using namespace chorus::http;

namespace {
struct recording_sink : reply_sink {
  std::vector<response> got;
  void deliver(response r) override { got.push_back(std::move(r)); }
};

request with_body(std::string ct, std::string body) {
  request r;
  if (!ct.empty())
    r.headers.emplace_back("content-type", std::move(ct));
  r.body = std::move(body);
  return r;
}
} // namespace

TEST(Body, JsonObject) {
  auto sink = std::make_shared<recording_sink>();
  {
    responder res(sink);
    auto j = read_body(with_body("application/json; charset=utf-8", R"({"level":"warn"})"), res);
    ASSERT_TRUE(j.has_value());
    EXPECT_EQ((*j)["level"], "warn");
    res.json(200, *j);
  }
  ASSERT_EQ(sink->got.size(), 1u);
  EXPECT_EQ(sink->got[0].status, 200);
}

TEST(Body, MalformedJsonIs400WithJsonError) {
  auto sink = std::make_shared<recording_sink>();
  {
    responder res(sink);
    EXPECT_FALSE(read_body(with_body("application/json", "{\"a\":"), res).has_value());
  }
  ASSERT_EQ(sink->got.size(), 1u);
  EXPECT_EQ(sink->got[0].status, 400);
  auto j = nlohmann::json::parse(sink->got[0].body);
  EXPECT_EQ(j["error"], "Invalid JSON");
}

TEST(Body, NonObjectJsonIs422) {
  auto sink = std::make_shared<recording_sink>();
  {
    responder res(sink);
    EXPECT_FALSE(read_body(with_body("application/json", "[1,2]"), res).has_value());
  }
  ASSERT_EQ(sink->got.size(), 1u);
  EXPECT_EQ(sink->got[0].status, 422);
}

TEST(Body, FormEncodedWithArrays) {
  auto sink = std::make_shared<recording_sink>();
  responder res(sink);
  auto j = read_body(with_body("application/x-www-form-urlencoded", "status=hi+there&media_ids[]=1&media_ids[]=2"), res);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ((*j)["status"], "hi there");
  EXPECT_EQ((*j)["media_ids"], nlohmann::json::array({"1", "2"}));
  res.json(200, *j);
}

TEST(Body, UnsupportedTypeIs415) {
  auto sink = std::make_shared<recording_sink>();
  {
    responder res(sink);
    EXPECT_FALSE(read_body(with_body("text/xml", "<a/>"), res).has_value());
  }
  ASSERT_EQ(sink->got.size(), 1u);
  EXPECT_EQ(sink->got[0].status, 415);
}

TEST(Responder, ExactlyOneResponse) {
  auto sink = std::make_shared<recording_sink>();
  {
    responder res(sink);
    auto copy = res;
    res.json(200, {{"a", 1}});
    copy.json(201, {{"b", 2}});
    EXPECT_TRUE(copy.answered());
  }
  ASSERT_EQ(sink->got.size(), 1u);
  EXPECT_EQ(sink->got[0].status, 200);
}

TEST(Responder, DroppedWithoutAnswerSends500) {
  auto sink = std::make_shared<recording_sink>();
  {
    responder res(sink);
    auto copy = res;
  }
  ASSERT_EQ(sink->got.size(), 1u);
  EXPECT_EQ(sink->got[0].status, 500);
  EXPECT_TRUE(nlohmann::json::parse(sink->got[0].body).contains("error"));
}

namespace {
// Runs read_body and returns (status of the answer or 0, the decoded body).
std::pair<int, nlohmann::json> decode(const std::string& ct, const std::string& body,
                                      std::vector<upload>* files = nullptr) {
  auto sink = std::make_shared<recording_sink>();
  nlohmann::json out;
  {
    responder res(sink);
    auto j = read_body(with_body(ct, body), res, files);
    if (j) {
      out = *j;
      res.json(200, *j);
    }
  }
  return {sink->got.empty() ? 0 : sink->got[0].status, out};
}
const std::string mp = "multipart/form-data; boundary=----chorus42";
} // namespace

TEST(Body, MultipartFieldsArraysAndFiles) {
  const std::string png("\x89PNG\r\n\x1a\n\0\0", 10);  // binary, with NUL bytes and CRLF
  std::string body =
    "------chorus42\r\nContent-Disposition: form-data; name=\"display_name\"\r\n\r\nAl\xc3\xaf" "ce\r\n"
    "------chorus42\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nline one\r\nline two\r\n"
    "------chorus42\r\nContent-Disposition: form-data; name=\"media_ids[]\"\r\n\r\n1\r\n"
    "------chorus42\r\nContent-Disposition: form-data; name=\"media_ids[]\"\r\n\r\n2\r\n"
    "------chorus42\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a \\\"b\\\".png\"\r\n"
    "Content-Type: image/png\r\n\r\n" + png + "\r\n------chorus42--\r\n";
  std::vector<upload> files;
  auto [status, j] = decode(mp, body, &files);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(j["display_name"], "Al\xc3\xaf" "ce");
  EXPECT_EQ(j["note"], "line one\r\nline two");
  EXPECT_EQ(j["media_ids"], nlohmann::json::array({"1", "2"}));
  EXPECT_FALSE(j.contains("avatar"));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].field, "avatar");
  EXPECT_EQ(files[0].filename, "a \"b\".png");
  EXPECT_EQ(files[0].content_type, "image/png");
  EXPECT_EQ(files[0].data, png);
}

TEST(Body, MultipartQuotedBoundaryPreambleAndEmptyForm) {
  auto [s1, j1] = decode("multipart/form-data; boundary=\"b c\"",
                         "preamble\r\n--b c\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b c--");
  EXPECT_EQ(s1, 200);
  EXPECT_EQ(j1["x"], "1");
  // What client libraries send for a POST without parameters.
  auto [s2, j2] = decode(mp, "------chorus42--\r\n");
  EXPECT_EQ(s2, 200);
  EXPECT_TRUE(j2.empty());
}

TEST(Body, MalformedMultipartIs400) {
  EXPECT_EQ(decode("multipart/form-data", "--x\r\n\r\n").first, 400);  // no boundary
  EXPECT_EQ(decode(mp, "------chorus42\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end").first, 400);
  EXPECT_EQ(decode(mp, "------chorus42\r\nContent-Type: text/plain\r\n\r\nx\r\n------chorus42--").first, 400);
  EXPECT_EQ(decode(mp, "garbage without delimiters").first, 400);
}

TEST(Body, InvalidUtf8AndNulAre422InEveryEncoding) {
  // Form and multipart values, JSON \u0000; the answer names the field.
  for (auto [ct, body] : std::vector<std::pair<std::string, std::string>>{
         {"application/x-www-form-urlencoded", "status=evil%00post"},
         {"application/x-www-form-urlencoded", "status=%FF%FE"},
         {"application/x-www-form-urlencoded", "x=1&spoiler_text=%C0%AF"},
         {"application/json", R"({"status":"evil\u0000post"})"},
         {"application/json", R"({"poll":{"options":["a","b\u0000"]}})"},
         {mp, "------chorus42\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\n\xff\r\n------chorus42--"},
         {mp, std::string("------chorus42\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\na") + '\0' +
                "b\r\n------chorus42--"}}) {
    auto sink = std::make_shared<recording_sink>();
    {
      responder res(sink);
      EXPECT_FALSE(read_body(with_body(ct, body), res).has_value()) << body;
    }
    ASSERT_EQ(sink->got.size(), 1u);
    EXPECT_EQ(sink->got[0].status, 422) << body;
    auto j = nlohmann::json::parse(sink->got[0].body);
    EXPECT_EQ(j["error"], "Validation failed");
    EXPECT_NE(j["error_description"].get<std::string>().find('\''), std::string::npos) << "names the field";
  }
  // Invalid UTF-8 inside a JSON document cannot be decoded at all: 400.
  EXPECT_EQ(decode("application/json", "{\"status\":\"\xff\"}").first, 400);
}

TEST(Body, TargetCheck) {
  auto check = [](std::string path, std::string query) {
    auto sink = std::make_shared<recording_sink>();
    bool ok;
    {
      responder res(sink);
      request r;
      r.path = std::move(path);
      r.query_string = std::move(query);
      ok = check_target(r, res);
      if (ok)
        res.json(200, nlohmann::json::object());
    }
    return ok ? 0 : sink->got.at(0).status;
  };
  EXPECT_EQ(check("/api/v1/timelines/tag/caf\xc3\xa9", "limit=5&any[]=%C3%A9"), 0);
  EXPECT_EQ(check("/api/v1/timelines/tag/\xff", ""), 422);
  EXPECT_EQ(check(std::string("/a\0b", 4), ""), 422);
  EXPECT_EQ(check("/oauth/authorize", "client_id=%FF"), 422);
  EXPECT_EQ(check("/x", "q=%00"), 422);
  EXPECT_EQ(check("/x", "q=%G1"), 400);
}
