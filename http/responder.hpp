#pragma once
// RAII responder: exactly one response per request. Copies share one state; the
// first send() wins, later ones are ignored, and if every copy is dropped without
// a send() the client gets a 500 (and the bug is logged) instead of a hang.
#include "common/errc.hpp"
#include "http/types.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <nlohmann/json_fwd.hpp>

namespace caf { class error; }

namespace chorus::http {

// Where a response goes (implemented by the HTTP session; thread-safe).
class reply_sink {
public:
  virtual ~reply_sink() = default;
  virtual void deliver(response r) = 0;
  // Runs `fn` on the connection's strand (an HTTP thread), never inline on the
  // caller's thread unless that is the strand. Sinks without a connection
  // (tests) run it inline.
  virtual void post(std::function<void()> fn) { fn(); }
};

class responder {
public:
  // `request_id` goes into the log line of a failure whose details are not sent.
  explicit responder(std::shared_ptr<reply_sink> sink, std::string request_id = {});

  void send(response r) const;
  void json(int status, const nlohmann::json& body) const;
  void fail(errc code, const std::string& error = {}, const std::string& description = {}) const;
  void fail(const caf::error& err) const;
  bool answered() const noexcept;
  // Runs `fn` on the connection's strand: handler continuations (actor replies,
  // rate-limit decisions) come back here, so no actor or shard thread ever runs
  // handler code (JSON rendering, the next actor request).
  void on_strand(std::function<void()> fn) const;

private:
  struct state {
    std::shared_ptr<reply_sink> sink;
    std::string request_id;
    std::atomic<bool> done{false};
    ~state();
  };
  std::shared_ptr<state> st_;
};

} // namespace chorus::http
