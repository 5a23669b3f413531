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
  std::string cluster_address;  // host:port of its cluster port; empty: not clustered
  int protocol = 0;             // wire protocol version it speaks
  std::string incarnation;
};

// What a node advertises on each heartbeat.
struct node_advert {
  std::string name;
  std::string http_address;
  std::string version;
  std::string cluster_address;
  int protocol = 0;
  std::string incarnation;
};

// `incarnation` identifies this run of the node (see jobs' reclaim_lost).
void upsert_node(pqxx::connection_base& conn, const node_advert& node, bool starting);
std::vector<node_row> list_nodes(pqxx::connection_base& conn);
// Nodes other than `self` whose heartbeat is at most `max_age_ms` old and that
// advertise a cluster address (the ones a node joins).
std::vector<node_row> live_cluster_nodes(pqxx::connection_base& conn, const std::string& self, int max_age_ms);

} // namespace chorus::storage::pg
