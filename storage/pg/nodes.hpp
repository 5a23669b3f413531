#pragma once
// The `nodes` table: every chorusd upserts its row at start and on each heartbeat.
#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace chorus::storage::pg {

struct node_row {
  std::string name;
  std::string http_address;
  std::string version;
  std::string started_at;   // ISO 8601 UTC
  std::string last_seen_at; // ISO 8601 UTC
  double seconds_since_seen = 0;
};

// `incarnation` identifies this run of the node (see jobs' reclaim_lost).
void upsert_node(pqxx::connection_base& conn, const std::string& name, const std::string& http_address,
                 const std::string& version, bool starting, const std::string& incarnation = {});
std::vector<node_row> list_nodes(pqxx::connection_base& conn);

} // namespace chorus::storage::pg
