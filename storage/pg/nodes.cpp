#include "storage/pg/nodes.hpp"

#include "storage/pg/connection.hpp"

#include <pqxx/pqxx>

namespace chorus::storage::pg {

void upsert_node(pqxx::connection_base& conn, const std::string& name, const std::string& http_address,
                 const std::string& version, bool starting, const std::string& incarnation) {
  try {
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO nodes (name, http_address, version) VALUES ($1, $2, $3) "
                   "ON CONFLICT (name) DO UPDATE SET http_address = EXCLUDED.http_address, "
                   "version = EXCLUDED.version, last_seen_at = now(), "
                   "started_at = CASE WHEN $4 THEN now() ELSE nodes.started_at END",
                   name, http_address, version, starting);
    if (!incarnation.empty())
      tx.exec_params("INSERT INTO node_incarnations (incarnation, node) VALUES ($1, $2) "
                     "ON CONFLICT (incarnation) DO UPDATE SET last_seen_at = now()",
                     incarnation, name);
    tx.commit();
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

std::vector<node_row> list_nodes(pqxx::connection_base& conn) {
  try {
    pqxx::work tx(conn);
    std::vector<node_row> out;
    auto rows = tx.exec(
      "SELECT name, http_address, version,"
      " to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
      " to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
      " extract(epoch FROM now() - last_seen_at)::float8"
      " FROM nodes ORDER BY name");
    for (const auto& r : rows)
      out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                     r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<double>()});
    return out;
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

} // namespace chorus::storage::pg
