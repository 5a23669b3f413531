#pragma once
// Group commit for independent requests that each need a few statements: one
// transaction for the batch, a savepoint per item. An item whose work throws
// chorus::failure is rolled back to its savepoint and answered with that error
// alone; connection loss, deadlines and aborted transactions (deadlock,
// serialization) fail the whole batch, which the batcher reruns when aborted.
// Use as a batch_spec::run: `[](conn, items) { return savepoint_batch<Outcome>(conn, items, apply); }`.
#include "common/errc.hpp"

#include <pqxx/pqxx>
#include <vector>

namespace chorus::actors {

// Outcome must have `errc code` and `std::string error`; `apply(tx, item, outcome)`
// does the item's work in `tx` and fills the outcome's value.
template <class Outcome, class Item, class Apply>
std::vector<Outcome> savepoint_batch(pqxx::connection_base& c, const std::vector<Item>& items, Apply apply) {
  pqxx::work tx(c);
  std::vector<Outcome> out;
  out.reserve(items.size());
  for (auto& item : items) {
    Outcome o;
    try {
      pqxx::subtransaction sp(tx, "item");
      apply(sp, item, o);
      sp.commit();
    } catch (const failure& f) {
      if (f.code() == errc::unavailable || f.code() == errc::timeout || f.code() == errc::aborted)
        throw;
      o = Outcome{};
      o.code = f.code();
      o.error = f.what();
    }
    out.push_back(std::move(o));
  }
  tx.commit();
  return out;
}

} // namespace chorus::actors
