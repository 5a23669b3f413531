#pragma once
// Group commit for independent requests that each need a few statements: one
// transaction for the batch, a savepoint per item. An item whose work throws
// chorus::failure is rolled back to its savepoint and answered with that error
// alone, and so is one whose statement the database refused (a libpqxx error,
// translated at this boundary); connection loss, deadlines and aborted
// transactions (deadlock, serialization) fail the whole batch, which the
// batcher reruns when aborted.
// Used by storage's group-commit functions (apply_actions, apply_changes), which
// the actors' batchers run: `return savepoint_batch<Outcome>(conn, items, apply);`.
#include "common/errc.hpp"
#include "storage/pg/connection.hpp"
#include "storage/pg/isolating_batch.hpp"

#include <pqxx/pqxx>
#include <vector>

namespace chorus::storage::pg {

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
      try {
        pqxx::subtransaction sp(tx, "item");
        apply(sp, item, o);
        sp.commit();
      } catch (...) {
        rethrow_translated(std::current_exception());
      }
    } catch (const failure& f) {
      if (fails_whole_batch(f.code()))
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

} // namespace chorus::storage::pg
