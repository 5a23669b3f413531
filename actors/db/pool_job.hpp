#pragma once
// One request = one Postgres pool job: runs `fn(connection, T& out) -> caf::error`
// on a pooled connection and answers with `out`, or with the error `fn` returned,
// or with the pool's error (overload, connection loss, deadline).
#include "actors/protocol/interfaces.hpp"

#include <caf/result.hpp>
#include <caf/typed_response_promise.hpp>
#include <chrono>
#include <memory>

namespace chorus::actors {

template <class T, class Self, class Fn>
caf::result<T> pool_job(Self* self, const pg_pool_actor& pool, std::chrono::milliseconds timeout, const char* name,
                        Fn fn) {
  auto rp = self->template make_response_promise<T>();
  auto out = std::make_shared<T>();
  auto err = std::make_shared<caf::error>();
  self->request(pool, timeout, db_call{name, [fn, out, err](pqxx::connection_base& c) mutable { *err = fn(c, *out); }})
    .then(
      [rp, out, err](ok_atom) mutable {
        if (*err)
          rp.deliver(*err);
        else
          rp.deliver(std::move(*out));
      },
      [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

// One step of a multi-step flow: asks `pool` (Postgres or blocking; both answer
// ok_atom) to run `call`; `next()` continues on success, an error goes to `rp`.
template <class Self, class Pool, class Call, class T, class Next>
void pool_step(Self* self, const Pool& pool, std::chrono::milliseconds timeout, Call call,
               caf::typed_response_promise<T> rp, Next next) {
  self->request(pool, timeout, std::move(call))
    .then([next](ok_atom) mutable { next(); }, [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
}

} // namespace chorus::actors
