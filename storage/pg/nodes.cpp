#include "storage/pg/nodes.hpp"

#include "storage/pg/connection.hpp"

#include <pqxx/pqxx>

namespace chorus::storage::pg {

void upsert_node(pqxx::connection_base& conn, const node_advert& n, bool starting) {
  try {
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO nodes (name, http_address, version, cluster_address, protocol, incarnation) "
                   "VALUES ($1, $2, $3, $5, $6, $7) "
                   "ON CONFLICT (name) DO UPDATE SET http_address = EXCLUDED.http_address, "
                   "version = EXCLUDED.version, last_seen_at = now(), cluster_address = EXCLUDED.cluster_address, "
                   "protocol = EXCLUDED.protocol, incarnation = EXCLUDED.incarnation, "
                   "started_at = CASE WHEN $4 THEN now() ELSE nodes.started_at END",
                   n.name, n.http_address, n.version, starting, n.cluster_address, n.protocol, n.incarnation);
    if (!n.incarnation.empty())
      tx.exec_params("INSERT INTO node_incarnations (incarnation, node) VALUES ($1, $2) "
                     "ON CONFLICT (incarnation) DO UPDATE SET last_seen_at = now()",
                     n.incarnation, n.name);
    tx.commit();
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

namespace {

const char* node_columns =
  "SELECT name, http_address, version,"
  " to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
  " to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
  " extract(epoch FROM now() - last_seen_at)::float8, cluster_address, protocol, incarnation"
  " FROM nodes ";

std::vector<node_row> rows_of(const pqxx::result& rows) {
  std::vector<node_row> out;
  for (const auto& r : rows)
    out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(),
                   r[4].as<std::string>(), r[5].as<double>(), r[6].as<std::string>(), r[7].as<int>(),
                   r[8].as<std::string>()});
  return out;
}

} // namespace

std::vector<node_row> list_nodes(pqxx::connection_base& conn) {
  try {
    pqxx::work tx(conn);
    return rows_of(tx.exec(std::string(node_columns) + "ORDER BY name"));
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

std::vector<node_row> live_cluster_nodes(pqxx::connection_base& conn, const std::string& self, int max_age_ms) {
  try {
    pqxx::work tx(conn);
    return rows_of(tx.exec_params(std::string(node_columns) +
                                    "WHERE name <> $1 AND cluster_address <> '' "
                                    "AND last_seen_at > now() - make_interval(secs => $2::float8 / 1000) ORDER BY name",
                                  self, max_age_ms));
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

} // namespace chorus::storage::pg
