#include "http/router.hpp"

#include <gtest/gtest.h>

using namespace chorus::http;

namespace {
handler_fn tag(std::string* out, std::string name) {
  return [out, name](request&, const responder&) { *out = name; };
}
request req(std::string method, std::string path) {
  request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}
} // namespace

TEST(Router, MatchesLiteralAndParameters) {
  router r;
  std::string hit;
  r.add("GET", "/api/v1/accounts/:id", tag(&hit, "account"));
  r.add("GET", "/api/v1/accounts/:id/statuses", tag(&hit, "statuses"));
  auto q = req("GET", "/api/v1/accounts/42/statuses");
  auto m = r.find(q);
  ASSERT_NE(m.fn, nullptr);
  EXPECT_EQ(m.route, "/api/v1/accounts/:id/statuses");
  EXPECT_EQ(q.params["id"], "42");
}

TEST(Router, LiteralSegmentsBeatParameters) {
  router r;
  std::string hit;
  r.add("GET", "/api/v1/accounts/:id", tag(&hit, "account"));
  r.add("GET", "/api/v1/accounts/lookup", tag(&hit, "lookup"));
  auto q = req("GET", "/api/v1/accounts/lookup");
  auto m = r.find(q);
  ASSERT_NE(m.fn, nullptr);
  EXPECT_EQ(m.route, "/api/v1/accounts/lookup");
  EXPECT_TRUE(q.params.empty());
}

TEST(Router, WrongMethodReportsAllowedMethods) {
  router r;
  std::string hit;
  r.add("GET", "/x", tag(&hit, "get"));
  r.add("PUT", "/x", tag(&hit, "put"));
  auto q = req("DELETE", "/x");
  auto m = r.find(q);
  EXPECT_EQ(m.fn, nullptr);
  EXPECT_EQ(m.allow, "GET, PUT, HEAD");  // HEAD is served wherever GET is
}

TEST(Router, UnknownPathMatchesNothing) {
  router r;
  std::string hit;
  r.add("GET", "/x/:id", tag(&hit, "x"));
  auto q1 = req("GET", "/y/1");
  EXPECT_EQ(r.find(q1).fn, nullptr);
  auto q2 = req("GET", "/x/1/2");
  EXPECT_EQ(r.find(q2).fn, nullptr);
  EXPECT_TRUE(r.find(q2).allow.empty());
}

TEST(Router, DuplicateRoutesAreRejected) {
  router r;
  std::string hit;
  r.add("GET", "/x/:id", tag(&hit, "x"));
  EXPECT_THROW(r.add("GET", "/x/:other", tag(&hit, "y")), std::logic_error);
}

TEST(Router, RootPath) {
  router r;
  std::string hit;
  r.add("GET", "/", tag(&hit, "root"));
  auto q = req("GET", "/");
  EXPECT_NE(r.find(q).fn, nullptr);
}
