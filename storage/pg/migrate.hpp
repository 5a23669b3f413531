#pragma once
// Forward-only migrations recorded in schema_migrations, each applied in its own
// transaction while holding an advisory lock, so nodes starting together never race.
#include "storage/pg/migrations.hpp"

#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace chorus::storage::pg {

struct migrate_result {
  std::vector<int> applied;   // versions applied by this call
  int current_version = 0;    // highest version recorded afterwards
};

// Applies every migration of `all` not yet recorded. Throws chorus::failure when a
// migration fails (its transaction is rolled back) or when a recorded migration's
// checksum differs from the file (someone edited an applied migration).
migrate_result migrate(pqxx::connection_base& conn, const std::vector<migration>& all = embedded_migrations());

// Highest applied version, 0 if none (or no schema_migrations table yet).
int applied_version(pqxx::connection_base& conn);

// Latest version among `all`.
int latest_version(const std::vector<migration>& all = embedded_migrations());

struct applied_migration {
  int version;
  std::string name;
  std::string applied_at;
};
std::vector<applied_migration> list_applied(pqxx::connection_base& conn);

std::string checksum(std::string_view sql);

} // namespace chorus::storage::pg
