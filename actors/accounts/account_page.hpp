#pragma once
// A page of accounts from (cursor, account id) pairs, newest first: loads the
// accounts in that order and keeps the first and last cursor for Link headers.
#include "actors/protocol/messages.hpp"
#include "storage/pg/accounts.hpp"

#include <pqxx/pqxx>
#include <utility>
#include <vector>

namespace chorus::actors {

inline account_list account_page(pqxx::connection_base& c,
                                 const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs) {
  account_list out;
  std::vector<std::int64_t> ids;
  ids.reserve(pairs.size());
  for (auto& [cursor, id] : pairs)
    ids.push_back(id);
  pqxx::work tx(c);
  out.accounts = storage::pg::accounts_by_ids(tx, ids);
  if (!pairs.empty()) {
    out.newest_cursor = pairs.front().first;
    out.oldest_cursor = pairs.back().first;
  }
  return out;
}

} // namespace chorus::actors
