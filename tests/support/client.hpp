#pragma once
// The base of e2e fixtures that act as Mastodon clients of a real chorusd: a
// fresh database, the server, an app token, and the calls most tests make.
#include "support/harness.hpp"

#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace chorus::test {

struct client_fixture : ::testing::Test {
  temp_database db;
  std::unique_ptr<chorusd> d;
  std::string app_token;  // client_credentials token of a registered app (read write follow)

  struct who {
    std::string token, id;
  };

  // Starts chorusd with `env` and registers the app.
  void start(std::map<std::string, std::string> env = {});
  // Registers a user through the API; its token and account id.
  who user(const std::string& name);
  std::vector<std::string> auth(const who& w, std::vector<std::string> extra = {}) const;
  // POST a form to `path` as `me`.
  http_response act(const who& me, const std::string& path, const std::string& body = "") const;
  void follow(const who& a, const who& b) const;
  // Posts a status as `w`; its id ("" on failure, which is also reported).
  std::string post(const who& w, const std::string& text, const std::string& visibility = "public",
                   const std::string& reply_to = "") const;
  // A Prometheus sample from /metrics (0 when absent); `name` may carry labels.
  double metric(const std::string& name) const;
};

} // namespace chorus::test
