#pragma once
// Mastodon's keyset pagination as SQL, shared by the storage readers.
#include "common/model/status.hpp"

#include <algorithm>
#include <string>

namespace chorus::storage::pg {

// Keyset bounds on a bigint column for Mastodon's page: newest first, or oldest
// first above min_id (sets `ascending`; the caller reverses the rows after).
inline std::string page_clause(const std::string& col, const model::page& p, bool& ascending) {
  std::string w;
  if (p.max_id > 0)
    w += " AND " + col + " < " + std::to_string(p.max_id);
  if (p.min_id > 0) {
    w += " AND " + col + " > " + std::to_string(p.min_id);
    ascending = true;
  } else if (p.since_id > 0) {
    w += " AND " + col + " > " + std::to_string(p.since_id);
  }
  return w;
}

// A page's limit as Mastodon clamps it: default 20, at most 40.
inline int clamp_limit(int limit) { return std::clamp(limit <= 0 ? 20 : limit, 1, 40); }

} // namespace chorus::storage::pg
