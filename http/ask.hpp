#pragma once
// The bridge from a handler to an actor: a short-lived actor sends one request
// with a finite timeout and hands the typed reply to `on_ok`; any error (actor
// error, timeout, dead actor) is answered through the responder's error mapping.
// Replies are posted back onto the connection's strand by the responder's sink.
#include "http/responder.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <chrono>

namespace chorus::http {

// `on_ok` takes the reply values of `msg…` (e.g. `[res](const readiness& r) {…}`);
// `on_err` takes the caf::error (for handlers with their own error bodies, e.g. OAuth).
template <class Dest, class OnOk, class OnErr, class... Ts>
void ask_with(caf::actor_system& sys, const Dest& dest, std::chrono::milliseconds timeout, OnOk on_ok,
              OnErr on_err, Ts... msg) {
  sys.spawn([=](caf::event_based_actor* self) mutable {
    self->request(dest, timeout, std::move(msg)...).then(std::move(on_ok), std::move(on_err));
  });
}

// As ask_with, with errors answered through the responder's error mapping.
template <class Dest, class OnOk, class... Ts>
void ask(caf::actor_system& sys, const responder& res, const Dest& dest,
         std::chrono::milliseconds timeout, OnOk on_ok, Ts... msg) {
  ask_with(sys, dest, timeout, std::move(on_ok), [res](caf::error& err) { res.fail(err); }, std::move(msg)...);
}

} // namespace chorus::http
