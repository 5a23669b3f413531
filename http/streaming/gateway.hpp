#pragma once
// Internal to http/: the streaming gateway. The HTTP session hands it a
// connection whose request targets /api/v1/streaming (except /health); the
// gateway authenticates it and turns it into a WebSocket or SSE stream
// connection (gateway.cpp). Beast is confined to this header and gateway.cpp.
#include "http/streaming/hub.hpp"
#include "http/streaming/streaming.hpp"
#include "http/types.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>

namespace chorus::metrics { class gauge; }

namespace chorus::http {

class stream_gateway : public std::enable_shared_from_this<stream_gateway> {
public:
  stream_gateway(const actors::services& svc, const streaming_config& cfg);
  ~stream_gateway();

  // Paths the gateway serves (the session routes everything else).
  static bool wants(const std::string& path);
  // Takes over the connection (any bytes already read stay in `buffer`).
  void take(boost::beast::tcp_stream&& stream, boost::beast::flat_buffer&& buffer,
            boost::beast::http::request<boost::beast::http::string_body>&& breq, request&& req);
  // Heartbeats for SSE (WebSocket pings are Beast's keep-alive pings).
  void start(boost::asio::io_context& ioc);
  void stop();
  // sizeof a WebSocket and an SSE connection object (benchmarks and docs).
  static std::pair<std::size_t, std::size_t> connection_sizes();

  actors::services svc;
  actors::streams_node_actor streams;  // svc.streams with its whole interface
  streaming_config cfg;
  std::shared_ptr<streaming::hub> hub;
  metrics::gauge* open_gauge = nullptr;  // chorus_stream_connections

private:
  void heartbeat();
  std::optional<boost::asio::steady_timer> timer_;
  std::shared_ptr<const streaming::frame> thump_;  // SSE heartbeat comment
  std::shared_ptr<const streaming::frame> ping_;   // WebSocket ping
};

} // namespace chorus::http
