#pragma once
// RAII responder: exactly one response per request. Copies share one state; the
// first send() wins, later ones are ignored, and if every copy is dropped without
// a send() the client gets a 500 (and the bug is logged) instead of a hang.
#include "common/errc.hpp"
#include "http/types.hpp"

#include <atomic>
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
