// Real Mastodon client libraries against a real chorusd: tests/clients/*.mjs,
// installed from tests/clients/package-lock.json by scripts/test (test-only).
#include "support/client.hpp"

#include <array>
#include <cstdio>
#include <gtest/gtest.h>
#include <sys/wait.h>

using namespace chorus::test;

namespace {

struct Clients : client_fixture {
  void SetUp() override { start(); }
};

// Runs a command and returns its exit code and combined output.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p)
    return {-1, "popen failed"};
  std::array<char, 4096> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), p))
    out.append(buf.data(), n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

} // namespace

TEST_F(Clients, MastoJsStreamsNotificationsMarkersAndConversations) {
  const std::string dir = std::string(CHORUS_SOURCE_DIR) + "/tests/clients";
  ASSERT_EQ(run("test -d " + dir + "/node_modules/masto").first, 0)
    << "masto is not installed: run `npm ci` in tests/clients (scripts/test does)";
  auto alice = user("alice");
  auto bob = user("bob");
  auto base = d->url("");
  if (!base.empty() && base.back() == '/')
    base.pop_back();
  auto [code, out] = run("cd " + dir + " && node masto.mjs " + base + " " + alice.token + " " + bob.token);
  EXPECT_EQ(code, 0) << out << "\nchorusd log tail:\n" << d->log().substr(d->log().size() > 4000 ? d->log().size() - 4000 : 0);
  EXPECT_NE(out.find("ok all"), std::string::npos) << out;
}
