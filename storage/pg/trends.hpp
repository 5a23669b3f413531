#pragma once
// What the trends actor reads from Postgres: one bounded query at startup so a
// restart does not empty the trends. No CAF here.
#include <cstdint>
#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace chorus::storage::pg {

// A recent public original status (no reblogs, not deleted) with its counters and
// hashtags; the tag uses are the author's.
struct trend_seed_row {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::int64_t created_at = 0;  // Unix seconds
  std::int32_t favourites_count = 0;
  std::int32_t reblogs_count = 0;
  std::int32_t replies_count = 0;
  std::vector<std::string> tags;  // lower-case
};

// The newest `limit` such statuses of the last `hours` hours, oldest first (the
// order the trends state wants events in). One statement on the statuses_public index.
std::vector<trend_seed_row> recent_public_statuses(pqxx::connection_base& c, int hours, int limit);

} // namespace chorus::storage::pg
