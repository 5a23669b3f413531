// bench_beast_inline PORT_FILE: serves GET /health with the same bytes chorusd
// returns, answered in the handler without any actor, on 127.0.0.1:0 with the
// default http.* settings; writes the port to PORT_FILE; stops on SIGINT/SIGTERM.
#include "common/config.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "http/server.hpp"

#include <csignal>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

using namespace chorus;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: bench_beast_inline PORT_FILE NODE_NAME\n";
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  log::set_level(log::level::warn);
  auto cfg = load_config("", environ_map());
  cfg.http.port = 0;
  metrics::registry metrics;
  auto routes = std::make_shared<http::router>();
  std::string node = argv[2];
  routes->add("GET", "/health", [node](http::request&, const http::responder& res) {
    res.json(200, {{"status", "ok"}, {"node", node}});
  });
  http::server srv(cfg.http, routes, metrics);
  auto port = srv.bind();
  srv.run();
  {
    std::ofstream out(argv[1]);
    out << port << "\n";
  }
  srv.wait_for_signal();
  srv.shutdown(std::chrono::milliseconds(1000));
  return 0;
}
