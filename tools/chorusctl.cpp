// chorusctl: the operator CLI. Talks to Postgres directly for schema work
// (migrate) and to a running chorusd over its admin HTTP API for everything live.
#include "common/config.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "common/crypto.hpp"
#include "common/ids.hpp"
#include "storage/pg/accounts.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/jobs.hpp"
#include "storage/pg/migrate.hpp"

#include <curl/curl.h>
#include <pqxx/pqxx>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <thread>
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
    "  cluster            the actor cluster as this node sees it: members, state, round trips, owned users (admin API)\n"
    "  health | ready     the node's health / readiness (exit 1 when not ready)\n"
    "  config             every config key, its environment variable and effective value\n"
    "  accounts create USER --email E [--admin] [--confirmed]\n"
    "                     create a local account; prints its generated password\n"
    "  settings registrations open|closed\n"
    "                     allow or refuse POST /api/v1/accounts\n"
    "  jobs [queues]      background job queues: queued, runnable, running, dead, oldest runnable age\n"
    "  jobs list [--queue Q] [--state queued|running|dead] [--before ID] [--limit N]\n"
    "                     jobs, newest first\n"
    "  jobs retry ID...   run queued jobs now instead of after their retry delay\n"
    "  jobs replay ID...  queue dead jobs again with fresh attempts\n"
    "  jobs enqueue --queue Q --kind K [--payload JSON] [--unique KEY] [--count N] [--batch B]\n"
    "                     add jobs (N copies, B per statement; a KEY dedupes against active jobs)\n"
    "  jobs wait [--queue Q] [--timeout S] [--interval MS]\n"
    "                     wait until the queue (all queues) has no queued or running job\n";
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

// chorusctl jobs …: reads and repairs the jobs table directly (an operator tool,
// like migrate; the running nodes pick changes up on their next claim).
int cmd_jobs(const config& cfg, const std::vector<std::string>& args, bool raw) {
  namespace pg = storage::pg;
  auto conn = pg::connect({cfg.pg.dsn, cfg.pg.connect_timeout_s, 0, "chorusctl"});
  auto sub = args.size() > 1 ? args[1] : std::string("queues");
  auto ids_from = [&](std::size_t first, std::vector<std::int64_t>& ids) {
    for (std::size_t i = first; i < args.size(); ++i) {
      std::int64_t v = 0;
      auto [p, ec] = std::from_chars(args[i].data(), args[i].data() + args[i].size(), v);
      if (ec != std::errc{} || p != args[i].data() + args[i].size() || v <= 0)
        return false;
      ids.push_back(v);
    }
    return !ids.empty();
  };
  if (sub == "queues") {
    auto depths = pg::queue_depths(*conn);
    nlohmann::json j = nlohmann::json::array();
    for (auto& q : depths)
      j.push_back({{"queue", q.queue}, {"queued", q.queued}, {"runnable", q.runnable}, {"running", q.running},
                   {"dead", q.dead}, {"oldest_runnable_s", q.oldest_runnable_s}});
    if (raw) {
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << std::left << std::setw(20) << "queue" << std::setw(10) << "queued" << std::setw(10) << "runnable"
              << std::setw(10) << "running" << std::setw(10) << "dead" << "oldest runnable\n";
    for (auto& q : depths)
      std::cout << std::left << std::setw(20) << q.queue << std::setw(10) << q.queued << std::setw(10) << q.runnable
                << std::setw(10) << q.running << std::setw(10) << q.dead << static_cast<long long>(q.oldest_runnable_s)
                << "s\n";
    return 0;
  }
  if (sub == "list") {
    std::string queue, state;
    std::int64_t before = 0;
    int limit = 50;
    for (std::size_t i = 2; i < args.size(); ++i) {
      if (args[i] == "--queue" && i + 1 < args.size()) queue = args[++i];
      else if (args[i] == "--state" && i + 1 < args.size()) state = args[++i];
      else if (args[i] == "--before" && i + 1 < args.size()) before = std::stoll(args[++i]);
      else if (args[i] == "--limit" && i + 1 < args.size()) limit = std::stoi(args[++i]);
      else return usage();
    }
    if (!state.empty() && state != "queued" && state != "running" && state != "dead")
      return fail("--state must be queued, running or dead");
    auto jobs = pg::list_jobs(*conn, queue, state, before, limit);
    nlohmann::json j = nlohmann::json::array();
    for (auto& x : jobs)
      j.push_back({{"id", x.id}, {"queue", x.queue}, {"kind", x.kind}, {"state", x.state}, {"attempts", x.attempts},
                   {"max_attempts", x.max_attempts}, {"run_at", x.run_at}, {"last_error", x.last_error},
                   {"unique_key", x.unique_key}, {"payload", nlohmann::json::parse(x.payload, nullptr, false)}});
    if (raw) {
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    for (auto& x : jobs)
      std::cout << x.id << "  " << std::left << std::setw(12) << x.queue << std::setw(20) << x.kind << std::setw(8)
                << x.state << x.attempts << "/" << x.max_attempts << "  " << x.run_at
                << (x.last_error.empty() ? "" : "  " + x.last_error) << "\n";
    return 0;
  }
  if (sub == "enqueue") {
    pg::new_job job;
    long long count = 1, batch = 1000;
    for (std::size_t i = 2; i < args.size(); ++i) {
      if (args[i] == "--queue" && i + 1 < args.size()) job.queue = args[++i];
      else if (args[i] == "--kind" && i + 1 < args.size()) job.kind = args[++i];
      else if (args[i] == "--payload" && i + 1 < args.size()) job.payload = args[++i];
      else if (args[i] == "--unique" && i + 1 < args.size()) job.unique_key = args[++i];
      else if (args[i] == "--count" && i + 1 < args.size()) count = std::stoll(args[++i]);
      else if (args[i] == "--batch" && i + 1 < args.size()) batch = std::stoll(args[++i]);
      else return usage();
    }
    if (job.queue.empty() || job.kind.empty())
      return fail("jobs enqueue needs --queue and --kind");
    if (count < 1 || batch < 1 || (!job.unique_key.empty() && count != 1))
      return fail("--count and --batch must be positive (and --count 1 with --unique)");
    auto payload = nlohmann::json::parse(job.payload, nullptr, false);
    if (!payload.is_object())
      return fail("--payload must be a JSON object");
    auto started = std::chrono::steady_clock::now();
    std::int64_t first = 0, last = 0, existing = 0;
    for (long long done = 0; done < count;) {
      std::vector<pg::new_job> part(static_cast<std::size_t>(std::min(batch, count - done)), job);
      for (auto& e : pg::enqueue_jobs(*conn, part)) {
        first = first ? first : e.id;
        last = e.id;
        existing += e.existing ? 1 : 0;
      }
      done += static_cast<long long>(part.size());
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    nlohmann::json j{{"queue", job.queue}, {"kind", job.kind}, {"count", count}, {"existing", existing},
                     {"first_id", first}, {"last_id", last}, {"seconds", secs}, {"per_second", count / std::max(secs, 1e-9)}};
    if (raw)
      std::cout << j.dump(2) << "\n";
    else
      std::cout << count << " job(s) in " << job.queue << (existing ? " (" + std::to_string(existing) + " already active)" : "")
                << ", ids " << first << ".." << last << ", " << secs << " s\n";
    return 0;
  }
  if (sub == "wait") {
    std::string queue;
    double timeout_s = 600;
    int interval_ms = 50;
    for (std::size_t i = 2; i < args.size(); ++i) {
      if (args[i] == "--queue" && i + 1 < args.size()) queue = args[++i];
      else if (args[i] == "--timeout" && i + 1 < args.size()) timeout_s = std::stod(args[++i]);
      else if (args[i] == "--interval" && i + 1 < args.size()) interval_ms = std::stoi(args[++i]);
      else return usage();
    }
    if (interval_ms < 1 || timeout_s <= 0)
      return fail("--interval and --timeout must be positive");
    auto started = std::chrono::steady_clock::now();
    for (;;) {
      auto active = pg::active_jobs(*conn, queue);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (active == 0) {
        if (raw)
          std::cout << nlohmann::json{{"queue", queue}, {"seconds", secs}}.dump() << "\n";
        else
          std::cout << (queue.empty() ? "all queues" : queue) << " empty after " << secs << " s\n";
        return 0;
      }
      if (secs > timeout_s)
        return fail("jobs still queued or running after " + std::to_string(timeout_s) + " s");
      std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
    }
  }
  if (sub == "retry" || sub == "replay") {
    std::vector<std::int64_t> ids;
    if (!ids_from(2, ids))
      return fail("jobs " + sub + " needs one or more job ids");
    auto job_ids = ids_of<job_id>(ids);
    auto done = sub == "retry" ? pg::retry_now(*conn, job_ids) : pg::replay_dead(*conn, job_ids);
    for (auto id : done)
      std::cout << id << "\n";
    std::cout << done.size() << " of " << ids.size() << " job(s) " << (sub == "retry" ? "made runnable" : "replayed")
              << "\n";
    return done.size() == ids.size() ? 0 : 1;
  }
  return usage();
}

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
    if (cmd == "cluster") {
      long status = 0;
      auto j = get_json(url, "/api/v1/chorus/admin/cluster", cfg, status);
      if (raw || status != 200) {
        std::cout << j.dump(2) << "\n";
        return status == 200 ? 0 : 1;
      }
      std::cout << "cluster of " << j["self"].get<std::string>() << ": transport " << j["transport"].get<std::string>()
                << ", secret " << (j["secret"].get<bool>() ? "checked" : "none") << ", protocol "
                << j["protocol"].get<int>() << "\n";
      std::cout << std::left << std::setw(20) << "NODE" << std::setw(9) << "STATE" << std::setw(24) << "CLUSTER ADDRESS"
                << std::setw(22) << "HTTP" << std::setw(10) << "VERSION" << std::setw(10) << "UPTIME" << std::setw(10)
                << "RTT ms" << std::setw(8) << "FEEDS" << "OWNS/10k\n";
      for (auto& m : j["members"]) {
        char rtt[32];
        std::snprintf(rtt, sizeof rtt, "%.2f", m["rtt_avg_ms"].get<double>());
        std::cout << std::left << std::setw(20) << m["name"].get<std::string>() << std::setw(9)
                  << m["state"].get<std::string>() << std::setw(24) << m["cluster_address"].get<std::string>()
                  << std::setw(22) << m["http_address"].get<std::string>() << std::setw(10)
                  << m["version"].get<std::string>() << std::setw(10)
                  << (std::to_string(static_cast<long>(m["uptime_s"].get<double>())) + "s") << std::setw(10)
                  << (m["state"] == "self" ? std::string("-") : std::string(rtt)) << std::setw(8)
                  << m["live_feeds"].get<long>() << m["owned_users_per_10k"].get<long>();
        if (!m["error"].get<std::string>().empty())
          std::cout << "  (" << m["error"].get<std::string>() << ")";
        std::cout << "\n";
      }
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
    if (cmd == "jobs")
      return cmd_jobs(cfg, args, raw);
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
