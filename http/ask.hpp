#pragma once
// The bridge from a handler to an actor: a short-lived actor sends one request
// with a finite timeout and hands the typed reply to `on_ok`; any error (actor
// error, timeout, dead actor) is answered through the responder's error mapping.
// `on_ok` and `on_err` run on the connection's strand (responder::on_strand),
// not on the bridge actor's scheduler thread.
#include "http/responder.hpp"

#include <caf/actor_system.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/event_based_actor.hpp>
#include <chrono>
#include <memory>
#include <tuple>
#include <type_traits>

namespace chorus::http {

namespace detail {

// A reply handler with exactly `Fn`'s signature (CAF checks it against the
// response type), which moves the reply values to the strand and calls `Fn` there.
template <class Fn, class Args>
struct on_strand_handler;

template <class Fn, class... Ts>
struct on_strand_handler<Fn, caf::detail::type_list<Ts...>> {
  responder res;
  Fn fn;
  void operator()(Ts... xs) {
    auto args = std::make_shared<std::tuple<std::decay_t<Ts>...>>(std::move(xs)...);
    res.on_strand([fn = fn, args]() mutable { std::apply(fn, *args); });
  }
};

template <class Fn>
auto hop_to_strand(const responder& res, Fn fn) {
  using args = typename caf::detail::get_callable_trait<Fn>::arg_types;
  return on_strand_handler<Fn, args>{res, std::move(fn)};
}

} // namespace detail

// `on_ok` takes the reply values of `msg…` (e.g. `[res](const readiness& r) {…}`);
// `on_err` takes the caf::error (for handlers with their own error bodies, e.g.
// OAuth). Both run on the connection's strand.
template <class Dest, class OnOk, class OnErr, class... Ts>
void ask_with(caf::actor_system& sys, const responder& res, const Dest& dest, std::chrono::milliseconds timeout,
              OnOk on_ok, OnErr on_err, Ts... msg) {
  sys.spawn([=](caf::event_based_actor* self) mutable {
    self->request(dest, timeout, std::move(msg)...)
      .then(detail::hop_to_strand(res, std::move(on_ok)), detail::hop_to_strand(res, std::move(on_err)));
  });
}

// As ask_with, with errors answered through the responder's error mapping.
template <class Dest, class OnOk, class... Ts>
void ask(caf::actor_system& sys, const responder& res, const Dest& dest, std::chrono::milliseconds timeout, OnOk on_ok,
         Ts... msg) {
  ask_with(sys, res, dest, timeout, std::move(on_ok), [res](caf::error& err) { res.fail(err); }, std::move(msg)...);
}

} // namespace chorus::http
