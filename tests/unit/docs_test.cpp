// The documentation is checked against the code where it cannot be generated
// from it: every route of the route table has its row in docs/api.md or the
// README (method and path), and no row names a route the server lacks.
#include "actors/system/services.hpp"
#include "common/config.hpp"
#include "http/routes.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <regex>
#include <set>
#include <sstream>

namespace {

std::string read_doc(const std::string& name) {
  std::ifstream in(std::string(CHORUS_SOURCE_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST(Docs, EveryRouteIsDocumentedInApiMdAndNoOtherRouteIs) {
  chorus::config cfg;
  chorus::actors::services svc;
  svc.cfg = &cfg;
  auto routes = chorus::http::make_routes(svc);
  // The Mastodon routes are in docs/api.md, operations and admin routes in the README.
  auto doc = read_doc("docs/api.md") + "\n" + read_doc("README.md");
  ASSERT_GT(doc.size(), 1000u) << "docs/api.md or README.md not found";
  // Rows look like: | GET | `/api/v1/statuses/:id/context` | …
  std::set<std::string> documented;
  std::regex row(R"(\n\| *(GET|POST|PUT|PATCH|DELETE) *\| *`([^`?]+)[^`]*`)");  // without a query part
  for (std::sregex_iterator it(doc.begin(), doc.end(), row), end; it != end; ++it)
    documented.insert((*it)[1].str() + " " + (*it)[2].str());
  std::set<std::string> served;
  for (auto& e : routes->list())
    served.insert(e.method + " " + e.pattern);
  for (auto& r : served)
    EXPECT_TRUE(documented.count(r)) << r << " is served but has no row in docs/api.md";
  for (auto& d : documented)
    EXPECT_TRUE(served.count(d)) << d << " is documented in docs/api.md but not in the route table";
}
