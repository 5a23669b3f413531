#include "storage/pg/trends.hpp"
#include "storage/pg/ids.hpp"

#include "storage/pg/connection.hpp"

#include <algorithm>
#include <pqxx/pqxx>

namespace chorus::storage::pg {

std::vector<trend_seed_row> recent_public_statuses(pqxx::connection_base& c, int hours, int limit) {
  return translated([&] {
    pqxx::read_transaction tx(c);
    // Newest first so LIMIT keeps the most recent ones, reversed below.
    auto rows = tx.exec_params(
      "SELECT s.id, s.account_id, floor(extract(epoch FROM s.created_at))::bigint,"
      " s.favourites_count, s.reblogs_count, s.replies_count,"
      " (SELECT array_agg(t.tag ORDER BY t.tag) FROM statuses_tags t WHERE t.status_id = s.id)"
      " FROM statuses s"
      " WHERE s.deleted_at IS NULL AND s.visibility = 0 AND s.reblog_of_id IS NULL"
      " AND s.created_at > now() - make_interval(hours => $1)"
      " ORDER BY s.id DESC LIMIT $2",
      std::max(hours, 0), std::max(limit, 0));
    std::vector<trend_seed_row> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
      trend_seed_row s;
      s.id = r[0].as<std::int64_t>();
      s.account_id = r[1].as<std::int64_t>();
      s.created_at = r[2].as<std::int64_t>();
      s.favourites_count = r[3].as<std::int32_t>();
      s.reblogs_count = r[4].as<std::int32_t>();
      s.replies_count = r[5].as<std::int32_t>();
      s.tags = parse_text_array(r[6]);
      out.push_back(std::move(s));
    }
    std::reverse(out.begin(), out.end());
    return out;
  });
}

} // namespace chorus::storage::pg
