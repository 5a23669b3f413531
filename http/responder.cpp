#include "http/responder.hpp"

#include "actors/protocol/errors.hpp"
#include "common/log.hpp"
#include "http/error_mapping.hpp"

#include <caf/error.hpp>
#include <nlohmann/json.hpp>

namespace chorus::http {

responder::responder(std::shared_ptr<reply_sink> sink, std::string request_id) : st_(std::make_shared<state>()) {
  st_->sink = std::move(sink);
  st_->request_id = std::move(request_id);
}

responder::state::~state() {
  if (!done.load() && sink) {
    log::write(log::level::error, "handler dropped a request without responding", {{"req_id", request_id}});
    sink->deliver(error_response(errc::internal, "Internal server error",
                                 "the handler did not produce a response"));
  }
}

void responder::send(response r) const {
  bool expected = false;
  if (st_->done.compare_exchange_strong(expected, true))
    st_->sink->deliver(std::move(r));
}

void responder::json(int status, const nlohmann::json& body) const {
  response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  send(std::move(r));
}

void responder::fail(errc code, const std::string& error, const std::string& description) const {
  send(error_response(code, error, description));
}

void responder::fail(const caf::error& err) const {
  // A server-side failure's text (driver messages, addresses) is logged with the
  // request id and never sent: error_response keeps only the status's message.
  auto code = actors::code_of(err);
  if (status_of(code) >= 500)
    log::write(code == errc::internal ? log::level::error : log::level::warn, "request failed",
               {{"req_id", st_->request_id}, {"code", std::string(to_string(code))},
                {"error", actors::description_of(err)}});
  send(error_response(err));
}

bool responder::answered() const noexcept { return st_->done.load(); }

void responder::on_strand(std::function<void()> fn) const { st_->sink->post(std::move(fn)); }

} // namespace chorus::http
