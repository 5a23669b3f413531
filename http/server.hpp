#pragma once
// The Boost.Beast HTTP/1.1 server: a strand per connection, keep-alive, header and
// body limits, read and idle timeouts, one request in flight per connection, a
// request id and a JSON access-log line per request, and graceful shutdown that
// lets in-flight requests finish. Beast stays out of this header (see session.hpp).
#include "common/config.hpp"
#include "common/metrics.hpp"
#include "http/router.hpp"

#include <chrono>
#include <cstdint>
#include <memory>

namespace chorus::http {

class stream_gateway;  // http/streaming/gateway.hpp

class server {
public:
  server(const http_config& cfg, std::shared_ptr<const router> routes, metrics::registry& metrics);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Opens the listening socket (throws std::runtime_error on failure); returns the port.
  std::uint16_t bind();
  // Installs the route table, before run() only: the routes must outlive every
  // response (the rate-limit sink keeps a plain pointer into them), and the swap
  // is not atomic.
  void set_routes(std::shared_ptr<const router> routes);
  // Installs the streaming API (before run() only): requests under
  // /api/v1/streaming (but /health) are handed to it with their connection.
  void set_streaming(std::shared_ptr<stream_gateway> gateway);
  // Starts accepting on `threads` I/O threads; returns immediately.
  void run();
  // Stops accepting, closes idle connections, waits up to `grace` for in-flight
  // requests to be answered, then stops the I/O threads. Blocks until done.
  void shutdown(std::chrono::milliseconds grace);
  // Blocks until SIGINT or SIGTERM arrives (handled on an I/O thread).
  void wait_for_signal();

  std::size_t connections() const;

  struct impl;  // defined in server_impl.hpp

private:
  std::shared_ptr<impl> impl_;
};

} // namespace chorus::http
