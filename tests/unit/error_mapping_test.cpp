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

#include "storage/pg/connection.hpp"
#include <pqxx/except>

// 5xx bodies carry no description at all; a 409 made from a database error
// carries ours, not the driver's (constraint names, other records' values).
TEST(ErrorMapping, ServerSideAndDriverTextStayOut) {
  auto down = http::error_response(actors::make_error(
    errc::unavailable, "postgres connect failed: connection to server at \"127.0.0.1\", port 5432 failed"));
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.body.find("127.0.0.1"), std::string::npos) << down.body;
  try {
    storage::pg::rethrow_translated(std::make_exception_ptr(pqxx::unique_violation(
      "ERROR: duplicate key value violates unique constraint \"users_email_key\"\nDETAIL: Key (email)=(bob@x.org) "
      "already exists.")));
    FAIL() << "rethrow_translated returned";
  } catch (const failure& f) {
    EXPECT_EQ(f.code(), errc::conflict);
    auto r = http::error_response(actors::make_error(f.code(), f.what()));
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(r.body.find("bob@x.org"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("users_email_key"), std::string::npos) << r.body;
  }
}
