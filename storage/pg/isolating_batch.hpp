#pragma once
// Group commit that isolates failing items (CAF-free; the batcher runs it on a
// pool worker). `run` does the whole batch as one transaction. When it fails
// for a reason that belongs to the input (a constraint, a bad value: anything
// but connection loss, deadlines, overload), the batch is split in halves and
// each half runs again, down to the single item that fails: so one client's
// bad item costs about 2·log2(batch) extra statements and fails only its own
// request, never the others committed with it. Aborted transactions (deadlock,
// serialization) are rerun as a whole, up to `max_attempts` times.
#include "common/errc.hpp"
#include "storage/pg/connection.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace chorus::storage::pg {

template <class Result>
struct item_outcome {
  std::optional<Result> value;  // set when the item committed
  errc code = errc::ok;         // otherwise why it failed
  std::string error;
};

// A failure that says nothing about which item caused it.
inline bool fails_whole_batch(errc code) noexcept {
  return code == errc::unavailable || code == errc::timeout || code == errc::aborted || code == errc::overloaded;
}

namespace detail {

template <class Result, class Item, class Run>
void run_range(pqxx::connection_base& c, const std::vector<Item>& items, std::size_t lo, std::size_t hi, Run& run,
               int max_attempts, std::vector<item_outcome<Result>>& out) {
  std::vector<Item> part;
  const std::vector<Item>* batch = &items;
  if (lo != 0 || hi != items.size()) {
    part.assign(items.begin() + static_cast<std::ptrdiff_t>(lo), items.begin() + static_cast<std::ptrdiff_t>(hi));
    batch = &part;
  }
  for (int attempt = 1;; ++attempt) {
    try {
      try {
        auto results = run(c, *batch);
        if (results.size() != batch->size())
          throw failure(errc::internal, "batch returned " + std::to_string(results.size()) + " results for " +
                                          std::to_string(batch->size()) + " items");
        for (std::size_t i = 0; i < results.size(); ++i)
          out[lo + i].value = std::move(results[i]);
        return;
      } catch (...) {
        rethrow_translated(std::current_exception());
      }
    } catch (const failure& f) {
      if (f.code() == errc::aborted && attempt < max_attempts)
        continue;
      if (fails_whole_batch(f.code()))
        throw;
      if (hi - lo == 1) {
        out[lo].code = f.code();
        out[lo].error = f.what();
        return;
      }
      auto mid = lo + (hi - lo) / 2;
      run_range<Result>(c, items, lo, mid, run, max_attempts, out);
      run_range<Result>(c, items, mid, hi, run, max_attempts, out);
      return;
    }
  }
}

} // namespace detail

// One outcome per item, in order. Throws chorus::failure only for failures of
// the whole batch (fails_whole_batch), after the aborted-transaction retries.
template <class Result, class Item, class Run>
std::vector<item_outcome<Result>> run_isolating(pqxx::connection_base& c, const std::vector<Item>& items, Run run,
                                                int max_attempts = 3) {
  std::vector<item_outcome<Result>> out(items.size());
  if (!items.empty())
    detail::run_range<Result>(c, items, 0, items.size(), run, max_attempts, out);
  return out;
}

} // namespace chorus::storage::pg
