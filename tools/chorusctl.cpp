// chorusctl: the operator CLI. Talks to Postgres directly for schema work
// (migrate) and to a running chorusd over its admin HTTP API for everything live.
#include "common/config.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"

#include <curl/curl.h>
#include <pqxx/pqxx>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

using namespace chorus;
using nlohmann::json;

namespace {

int usage() {
  std::cerr <<
    "usage: chorusctl [--config FILE] [--url http://HOST:PORT] [--json] COMMAND\n"
    "commands:\n"
    "  migrate            apply pending migrations to pg.dsn (safe to run on many nodes)\n"
    "  migrations         list applied migrations (from pg.dsn) and the ones this build has\n"
    "  actors [KIND]      live actors of a running chorusd (admin API)\n"
    "  nodes              cluster nodes and their last heartbeat (admin API)\n"
    "  health | ready     the node's health / readiness (exit 1 when not ready)\n"
    "  config             every config key, its environment variable and effective value\n"
    "  accounts create USER --email E [--admin] [--confirmed]\n"
    "                     create a local account; prints its generated password\n"
    "  settings registrations open|closed\n"
    "                     allow or refuse POST /api/v1/accounts\n";
  return 2;
}

struct http_result {
  long status = 0;
  std::string body;
  std::string error;
};

size_t on_data(char* p, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(p, size * n);
  return size * n;
}

http_result http_get(const std::string& url, const std::string& token) {
  http_result r;
  CURL* c = curl_easy_init();
  curl_slist* headers = nullptr;
  if (!token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  auto rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    r.error = curl_easy_strerror(rc);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  return r;
}

int fail(const std::string& what) {
  std::cerr << "chorusctl: " << what << "\n";
  return 1;
}

json get_json(const std::string& base, const std::string& path, const config& cfg, long& status) {
  auto r = http_get(base + path, cfg.admin_token);
  if (!r.error.empty())
    throw std::runtime_error("cannot reach chorusd at " + base + ": " + r.error);
  status = r.status;
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded())
    throw std::runtime_error("chorusd answered " + std::to_string(r.status) + " with a non-JSON body");
  if (r.status >= 400 && r.status != 503)
    throw std::runtime_error("chorusd answered " + std::to_string(r.status) + ": " + j.dump());
  return j;
}

int cmd_actors(const std::string& base, const config& cfg, const std::string& kind, bool raw) {
  long status = 0;
  auto j = get_json(base, "/api/v1/chorus/admin/actors" + (kind.empty() ? "" : "?kind=" + kind), cfg, status);
  if (raw) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "node " << j["node"].get<std::string>() << ": " << j["total"] << " actors\n";
  std::cout << std::left << std::setw(8) << "ID" << std::setw(14) << "KIND" << std::setw(22) << "NAME"
            << std::setw(10) << "MSGS" << std::setw(9) << "MAILBOX" << std::setw(6) << "HWM" << "COUNTERS\n";
  for (auto& a : j["actors"]) {
    std::string counters;
    for (auto it = a["counters"].begin(); it != a["counters"].end(); ++it)
      counters += it.key() + "=" + it.value().dump() + " ";
    std::cout << std::left << std::setw(8) << a["id"].get<std::string>() << std::setw(14)
              << a["kind"].get<std::string>() << std::setw(22) << a["name"].get<std::string>() << std::setw(10)
              << a["messages"].dump() << std::setw(9) << a["mailbox"].dump() << std::setw(6)
              << a["mailbox_high_water"].dump() << counters << "\n";
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::string file;
  if (auto* env = std::getenv("CHORUS_CONFIG"))
    file = env;
  std::string url;
  bool raw = false;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) file = argv[++i];
    else if (a == "--url" && i + 1 < argc) url = argv[++i];
    else if (a == "--json") raw = true;
    else if (a == "--help" || a == "-h") return usage(), 0;
    else args.push_back(a);
  }
  if (args.empty())
    return usage();
  config cfg;
  try {
    cfg = load_config(file, environ_map());
  } catch (const config_error& e) {
    std::cerr << "chorusctl: invalid configuration: " << e.what() << "\n";
    return 2;
  }
  log::set_level(log::level::warn);
  if (url.empty()) {
    auto host = cfg.http.host == "0.0.0.0" ? std::string("127.0.0.1")
                : cfg.http.host == "::"    ? std::string("[::1]")
                : cfg.http.host.find(':') != std::string::npos ? "[" + cfg.http.host + "]"
                                                               : cfg.http.host;
    url = "http://" + host + ":" + std::to_string(cfg.http.port);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const auto& cmd = args[0];
  try {
    if (cmd == "migrate") {
      auto conn = storage::pg::connect({cfg.pg.dsn, cfg.pg.connect_timeout_s, 0, "chorusctl"});
      auto r = storage::pg::migrate(*conn);
      std::cout << "applied " << r.applied.size() << " migration(s); schema version " << r.current_version << "\n";
      return 0;
    }
    if (cmd == "migrations") {
      auto conn = storage::pg::connect({cfg.pg.dsn, cfg.pg.connect_timeout_s, 0, "chorusctl"});
      auto applied = storage::pg::list_applied(*conn);
      std::map<int, std::string> at;
      for (auto& a : applied) at[a.version] = a.applied_at;
      for (auto& m : storage::pg::embedded_migrations())
        std::cout << std::setw(4) << std::setfill('0') << m.version << std::setfill(' ') << "  " << std::left
                  << std::setw(28) << m.name << (at.count(m.version) ? "applied " + at[m.version] : "pending")
                  << "\n";
      return 0;
    }
    if (cmd == "actors")
      return cmd_actors(url, cfg, args.size() > 1 ? args[1] : "", raw);
    if (cmd == "nodes") {
      long status = 0;
      auto j = get_json(url, "/api/v1/chorus/admin/nodes", cfg, status);
      if (raw) {
        std::cout << j.dump(2) << "\n";
        return 0;
      }
      for (auto& n : j)
        std::cout << std::left << std::setw(24) << n["name"].get<std::string>() << std::setw(24)
                  << n["http_address"].get<std::string>() << "last seen "
                  << static_cast<int>(n["seconds_since_seen"].get<double>()) << "s ago\n";
      return 0;
    }
    if (cmd == "health" || cmd == "ready") {
      long status = 0;
      auto j = get_json(url, "/" + cmd, cfg, status);
      std::cout << j.dump(2) << "\n";
      return status == 200 ? 0 : 1;
    }
    if (cmd == "accounts" && args.size() >= 3 && args[1] == "create") {
      std::string username = args[2], email;
      bool admin = false, confirmed = false;
      for (std::size_t i = 3; i < args.size(); ++i) {
        if (args[i] == "--email" && i + 1 < args.size()) email = args[++i];
        else if (args[i] == "--admin") admin = true;
        else if (args[i] == "--confirmed") confirmed = true;
        else return usage();
      }
      if (email.empty() || email.find('@') == std::string::npos)
        return fail("accounts create needs --email ADDRESS");
      auto password = crypto::random_token(24);
      storage::pg::new_account a;
      id_generator ids(cli_node_id);
      a.id = static_cast<std::int64_t>(ids.next());
      a.username = username;
      a.email = email;
      a.password_hash = crypto::hash_password(password);
      a.admin = admin;
      a.confirmed = confirmed;
      auto conn = storage::pg::connect({cfg.pg.dsn, cfg.pg.connect_timeout_s, 0, "chorusctl"});
      pqxx::work tx(*conn);
      auto row = storage::pg::insert_account(tx, a);
      tx.commit();
      std::cout << "OK\nAccount id: " << row.id << "\nNew password: " << password << "\n";
      return 0;
    }
    if (cmd == "settings" && args.size() == 3 && args[1] == "registrations" &&
        (args[2] == "open" || args[2] == "closed")) {
      auto conn = storage::pg::connect({cfg.pg.dsn, cfg.pg.connect_timeout_s, 0, "chorusctl"});
      storage::pg::put_setting(*conn, "registrations", "\"" + args[2] + "\"");
      std::cout << "registrations " << args[2] << "\n";
      return 0;
    }
    if (cmd == "config") {
      auto values = describe(cfg);
      for (auto& k : config_keys())
        std::cout << std::left << std::setw(26) << k.key << std::setw(32) << k.env << values[k.key] << "\n";
      return 0;
    }
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return usage();
}
