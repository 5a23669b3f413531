#pragma once
// Internal to http/: the server's shared state, used by the listener and server
// lifecycle (server.cpp) and by each connection's session (session.cpp).
#include "http/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace chorus::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

class session;
class stream_gateway;

struct server::impl : std::enable_shared_from_this<server::impl> {
  impl(const http_config& c, std::shared_ptr<const router> r, metrics::registry& m)
    : cfg(c), routes(std::move(r)), metrics(m), acceptor(ioc), signals(ioc),
      connections(m.get_gauge("chorus_http_connections", "Open HTTP connections")),
      in_flight(m.get_gauge("chorus_http_in_flight", "HTTP requests being handled")),
      rejected(m.get_counter("chorus_http_connections_rejected_total",
                             "Connections refused because http.max_connections was reached")) {}

  http_config cfg;
  std::shared_ptr<const router> routes;
  std::shared_ptr<stream_gateway> streaming;  // null: no streaming API
  metrics::registry& metrics;
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::signal_set signals;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;

  mutable std::mutex mtx;
  std::condition_variable cv;
  std::unordered_map<std::uint64_t, std::weak_ptr<session>> sessions;
  std::uint64_t next_session = 1;
  std::atomic<bool> stopping{false};
  bool signalled = false;

  metrics::gauge& connections;
  metrics::gauge& in_flight;
  metrics::counter& rejected;

  void accept();
  void remove(std::uint64_t id) {
    std::lock_guard<std::mutex> guard(mtx);
    sessions.erase(id);
    connections.set(static_cast<std::int64_t>(sessions.size()));
    cv.notify_all();
  }

  // Counts a finished request in the per-route metrics.
  void record(const std::string& method, const std::string& route, int status, double seconds);
};

} // namespace chorus::http
