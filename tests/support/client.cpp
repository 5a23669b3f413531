#include "support/client.hpp"

#include <regex>

namespace chorus::test {

namespace {
const std::vector<std::string> form = {"Content-Type: application/x-www-form-urlencoded"};
}

void client_fixture::start(std::map<std::string, std::string> env) {
  d = std::make_unique<chorusd>(db.dsn(), std::move(env));
  auto app = http("POST", d->url("/api/v1/apps"),
                  "client_name=t&redirect_uris=urn:ietf:wg:oauth:2.0:oob&scopes=read+write+follow", form)
               .json();
  app_token = http("POST", d->url("/oauth/token"),
                   "grant_type=client_credentials&client_id=" + app["client_id"].get<std::string>() +
                     "&client_secret=" + app["client_secret"].get<std::string>() + "&scope=read+write+follow",
                   form)
                .json()["access_token"];
}

client_fixture::who client_fixture::user(const std::string& name) {
  auto r = http("POST", d->url("/api/v1/accounts"),
                "username=" + name + "&email=" + name + "%40example.com&password=a-long-password&agreement=true",
                {form[0], "Authorization: Bearer " + app_token});
  EXPECT_EQ(r.status, 200) << r.body;
  who w{r.status == 200 ? r.json()["access_token"].get<std::string>() : "", ""};
  w.id = get(d->url("/api/v1/accounts/verify_credentials"), auth(w)).json().value("id", "");
  return w;
}

std::vector<std::string> client_fixture::auth(const who& w, std::vector<std::string> extra) const {
  extra.push_back("Authorization: Bearer " + w.token);
  return extra;
}

http_response client_fixture::act(const who& me, const std::string& path, const std::string& body) const {
  return http("POST", d->url(path), body, auth(me, form));
}

void client_fixture::follow(const who& a, const who& b) const {
  auto r = act(a, "/api/v1/accounts/" + b.id + "/follow");
  EXPECT_EQ(r.status, 200) << r.body;
}

std::string client_fixture::post(const who& w, const std::string& text, const std::string& visibility,
                                 const std::string& reply_to) const {
  nlohmann::json body{{"status", text}, {"visibility", visibility}};
  if (!reply_to.empty())
    body["in_reply_to_id"] = reply_to;
  auto r = http("POST", d->url("/api/v1/statuses"), body.dump(), auth(w, {"Content-Type: application/json"}));
  EXPECT_EQ(r.status, 200) << r.body;
  return r.status == 200 ? r.json().value("id", "") : "";
}

double client_fixture::metric(const std::string& name) const {
  auto body = get(d->url("/metrics")).body;
  std::smatch m;
  std::regex re("\n" + std::regex_replace(name, std::regex(R"([{}"])"), R"(\$&)") + " ([0-9.e+-]+)");
  return std::regex_search(body, m, re) ? std::stod(m[1]) : 0.0;
}

} // namespace chorus::test
