#include "actors/protocol/errors.hpp"
#include "http/error_mapping.hpp"

#include <caf/sec.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace chorus;

TEST(ErrorMapping, EveryCodeHasAStatusAndJsonBody) {
  for (int c = 1; c <= static_cast<int>(errc::last_); ++c) {
    auto code = static_cast<errc>(c);
    auto r = http::error_response(code, "");
    EXPECT_GE(r.status, 400) << to_string(code);
    auto j = nlohmann::json::parse(r.body);
    ASSERT_TRUE(j.contains("error")) << r.body;
    EXPECT_FALSE(j["error"].get<std::string>().empty());
  }
}

TEST(ErrorMapping, StatusesFollowTheHouseRules) {
  EXPECT_EQ(http::status_of(errc::bad_request), 400);
  EXPECT_EQ(http::status_of(errc::unprocessable), 422);
  EXPECT_EQ(http::status_of(errc::unauthorized), 401);
  EXPECT_EQ(http::status_of(errc::forbidden), 403);
  EXPECT_EQ(http::status_of(errc::not_found), 404);
  EXPECT_EQ(http::status_of(errc::method_not_allowed), 405);
  EXPECT_EQ(http::status_of(errc::unsupported_media_type), 415);
  EXPECT_EQ(http::status_of(errc::header_too_large), 431);
  EXPECT_EQ(http::status_of(errc::payload_too_large), 413);
  EXPECT_EQ(http::status_of(errc::rate_limited), 429);
  EXPECT_EQ(http::status_of(errc::overloaded), 503);
  EXPECT_EQ(http::status_of(errc::unavailable), 503);
}

TEST(ErrorMapping, OverloadCarriesRetryAfter) {
  for (auto code : {errc::overloaded, errc::unavailable, errc::timeout, errc::aborted}) {
    auto r = http::error_response(code, "x", "y");
    bool found = false;
    for (auto& [k, v] : r.headers)
      if (k == "Retry-After") {
        found = true;
        EXPECT_GT(std::stoi(v), 0);
      }
    EXPECT_TRUE(found) << to_string(code);
  }
}

TEST(ErrorMapping, CafErrorsRoundTrip) {
  auto err = actors::make_error(errc::conflict, "duplicate key");
  EXPECT_EQ(actors::code_of(err), errc::conflict);
  EXPECT_EQ(actors::description_of(err), "duplicate key");
  auto r = http::error_response(err);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error_description"], "duplicate key");
  EXPECT_EQ(actors::code_of(caf::make_error(caf::sec::request_timeout)), errc::timeout);
  EXPECT_EQ(actors::code_of(caf::make_error(caf::sec::request_receiver_down)), errc::unavailable);
}

TEST(ErrorMapping, InternalDetailsAreNotSentToClients) {
  auto r = http::error_response(actors::make_error(errc::internal, "password=hunter2 in SQL"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("hunter2"), std::string::npos) << r.body;
}
