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
