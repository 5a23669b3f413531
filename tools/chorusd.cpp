// chorusd: the composition root. Config → migrations → actors → HTTP, and the
// reverse on SIGINT/SIGTERM.
#include "actors/system/runtime.hpp"
#include "http/dto/conversation.hpp"
#include "http/dto/status.hpp"
#include "http/dto/notification.hpp"
#include "common/config.hpp"
#include "common/errc.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "http/routes.hpp"
#include "http/server.hpp"
#include "http/streaming/streaming.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/migrate.hpp"

#include <csignal>
#include <malloc.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <caf/send.hpp>
#include <thread>

using namespace chorus;

namespace {

void usage() {
  std::cerr << "usage: chorusd [--config FILE]\n"
               "  Every config key can be set with CHORUS_<KEY> (e.g. CHORUS_HTTP_PORT=3000);\n"
               "  CHORUS_CONFIG names the config file. `chorusctl config` lists all keys.\n";
}

// Applies migrations, waiting up to pg.startup_timeout_ms for Postgres to come up.
void migrate_at_startup(const config& cfg) {
  storage::pg::connect_options co{cfg.pg.dsn, cfg.pg.connect_timeout_s, 0, "chorusd-migrate"};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg.pg.startup_timeout_ms);
  bool logged = false;
  for (;;) {
    try {
      auto conn = storage::pg::connect(co);
      auto r = storage::pg::migrate(*conn);
      log::write(log::level::info, "schema ready",
                 {{"version", r.current_version}, {"applied_now", r.applied.size()}});
      return;
    } catch (const failure& f) {
      // Waiting helps while the server starts; it does not fix a wrong database or password.
      std::string what = f.what();
      bool hopeless = what.find("does not exist") != std::string::npos ||
                      what.find("authentication failed") != std::string::npos ||
                      what.find("no password supplied") != std::string::npos;
      if (f.code() != errc::unavailable || hopeless || std::chrono::steady_clock::now() >= deadline)
        throw;
      if (!logged)
        log::write(log::level::warn, "waiting for postgres", {{"error", f.what()}});
      logged = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
}

void write_port_file(const std::string& path, std::uint16_t port) {
  auto tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // Password hashing (argon2id) allocates ~19 MiB blocks. glibc raises its mmap
  // threshold after the first such block is freed, so later ones came from the
  // heap and stayed resident (~20 MB per CPU-pool thread); a fixed threshold
  // keeps large blocks mmapped and returned on free.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  std::string file;
  if (auto* env = std::getenv("CHORUS_CONFIG"))
    file = env;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      file = argv[++i];
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--version") {
      std::cout << "chorusd " << CHORUS_VERSION << "\n";
      return 0;
    } else {
      usage();
      return 2;
    }
  }
  config cfg;
  try {
    cfg = load_config(file, environ_map());
  } catch (const config_error& e) {
    std::cerr << "chorusd: invalid configuration: " << e.what() << "\n";
    return 2;
  }
  log::level lvl;
  log::parse_level(cfg.log_level, lvl);
  log::set_level(lvl);
  log::write(log::level::info, "starting", {{"version", CHORUS_VERSION}, {"node", cfg.node_name}});

  try {
    migrate_at_startup(cfg);
  } catch (const std::exception& e) {
    log::write(log::level::error, "cannot prepare the database", {{"error", e.what()}});
    return 1;
  }

  metrics::registry metrics;
  actors::runtime rt(cfg, metrics);
  http::server srv(cfg.http, nullptr, metrics);
  std::uint16_t port = 0;
  try {
    port = srv.bind();
  } catch (const std::exception& e) {
    log::write(log::level::error, "cannot listen", {{"error", e.what()}});
    return 1;
  }
  auto address = cfg.http.host + ":" + std::to_string(port);
  try {
    rt.start_node(address, CHORUS_VERSION);
  } catch (const std::exception& e) {
    log::write(log::level::error, "cannot join the cluster", {{"error", e.what()}});
    return 1;
  }
  auto svc = rt.svc();
  if (!cfg.public_url.empty()) {
    svc.base_url = cfg.public_url;
  } else {
    // Links in API responses need a reachable host: never a wildcard address.
    auto host = cfg.http.host == "0.0.0.0" || cfg.http.host == "::" ? std::string("localhost")
                : cfg.http.host.find(':') != std::string::npos ? "[" + cfg.http.host + "]"
                                                               : cfg.http.host;
    svc.base_url = "http://" + host + ":" + std::to_string(port);
    if (host == "localhost")
      log::write(log::level::warn, "public.url is not set; links will point at localhost",
                 {{"http.host", cfg.http.host}});
  }
  while (!svc.base_url.empty() && svc.base_url.back() == '/')
    svc.base_url.pop_back();
  // Feeds answer with JSON assembled from per-status templates rendered once.
  caf::anon_send(svc.status_cache, actors::renderer_install{[base = svc.base_url](const auto& s, const auto& b) {
                   return http::status_template(s, b, base);
                 }});
  caf::anon_send(svc.notifications,
                 actors::notification_renderer_install{[base = svc.base_url](const auto& n, const auto& b) {
                   return http::notification_json(n, b, base).dump();
                 }});
  // Conversation events for the direct streams are rendered once, by the same code as the API.
  caf::anon_send(svc.conversations,
                 actors::conversation_renderer_install{[base = svc.base_url](const auto& c, const auto& b) {
                   return http::conversation_json(c, b, base).dump();
                 }});
  srv.set_routes(http::make_routes(svc));
  srv.set_streaming(http::make_streaming(svc, cfg.streaming));
  srv.run();
  if (!cfg.http.port_file.empty())
    write_port_file(cfg.http.port_file, port);
  log::write(log::level::info, "listening", {{"address", address}, {"port", port}});

  srv.wait_for_signal();
  srv.shutdown(std::chrono::milliseconds(cfg.http.shutdown_grace_ms));
  rt.shutdown();
  log::info("stopped");
  return 0;
}
