#pragma once
// A streaming API client for e2e tests (Beast): a WebSocket or SSE connection
// to a real chorusd with a reader thread that collects every frame/event.
// Waits are conditions with deadlines. `pause()` stops reading (a slow
// consumer: the socket's receive buffer is kept small so the server's send
// queue fills quickly).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace chorus::test {

// One received event: WebSocket frames are parsed JSON ({"stream":…,"event":…,
// "payload":…}); SSE events are turned into the same shape ("stream" absent,
// "id" from the id: line), comments (":thump") become {"comment": "thump"}.
struct stream_event {
  nlohmann::json frame;
  std::string event() const { return frame.value("event", ""); }
  std::string payload() const { return frame.value("payload", ""); }
  nlohmann::json payload_json() const { return nlohmann::json::parse(payload(), nullptr, false); }
  std::int64_t seq() const;  // WS "seq" / SSE "id"; 0 when absent
};

class stream_client {
public:
  struct options {
    bool websocket = true;
    std::vector<std::string> headers;  // "Name: value"
    std::string subprotocol;           // WebSocket Sec-WebSocket-Protocol
    int rcvbuf = 0;                    // SO_RCVBUF before connecting (0: default)
  };
  stream_client(std::uint16_t port, const std::string& target, options opts);
  ~stream_client();

  // The handshake's HTTP status (101 for an open WebSocket, 200 for SSE) and,
  // when refused, the response body.
  int status() const { return status_; }
  const std::string& body() const { return body_; }
  std::string response_header(const std::string& lower_name) const;
  bool open() const { return status_ == 101 || status_ == 200; }

  void send(const std::string& text);  // WebSocket only
  void subscribe(const std::string& stream, nlohmann::json extra = nlohmann::json::object());
  void unsubscribe(const std::string& stream, nlohmann::json extra = nlohmann::json::object());

  // Waits until an event matches that no previous wait_for returned (in any order).
  bool wait_for(const std::function<bool(const stream_event&)>& pred,
                std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // All events so far.
  std::vector<stream_event> events() const;
  std::vector<stream_event> events(const std::string& name) const;
  bool closed() const;
  bool wait_closed(std::chrono::milliseconds deadline = std::chrono::seconds(10)) const;

  void pause();
  void resume();
  void close();

  struct impl;

private:
  std::shared_ptr<impl> impl_;
  int status_ = 0;
  std::string body_;
};

} // namespace chorus::test
