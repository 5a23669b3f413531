#include "storage/pg/migrate.hpp"

#include "common/errc.hpp"
#include "common/log.hpp"
#include "storage/pg/connection.hpp"

#include <nlohmann/json.hpp>
#include <map>
#include <openssl/sha.h>
#include <pqxx/pqxx>

namespace chorus::storage::pg {

std::string checksum(std::string_view sql) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(sql.data()), sql.size(), digest);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (auto b : digest) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0xf]);
  }
  return out;
}

int latest_version(const std::vector<migration>& all) {
  int v = 0;
  for (auto& m : all)
    v = std::max(v, m.version);
  return v;
}

int applied_version(pqxx::connection_base& conn) {
  try {
    pqxx::work tx(conn);
    auto exists = tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>();
    if (!exists)
      return 0;
    auto r = tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations");
    return r[0].as<int>();
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

std::vector<applied_migration> list_applied(pqxx::connection_base& conn) {
  try {
    pqxx::work tx(conn);
    std::vector<applied_migration> out;
    auto exists = tx.exec1("SELECT to_regclass('schema_migrations') IS NOT NULL")[0].as<bool>();
    if (!exists)
      return out;
    auto rows = tx.exec("SELECT version, name, to_char(applied_at AT TIME ZONE 'UTC', "
                        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM schema_migrations ORDER BY version");
    for (const auto& row : rows)
      out.push_back({row[0].as<int>(), row[1].as<std::string>(), row[2].as<std::string>()});
    return out;
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

migrate_result migrate(pqxx::connection_base& conn, const std::vector<migration>& all) {
  migrate_result result;
  try {
    // Session-level advisory lock keyed by the current schema, so concurrent
    // migrators of one schema serialise and other schemas are not blocked.
    {
      pqxx::nontransaction nt(conn);
      nt.exec("SELECT pg_advisory_lock(hashtext('chorus.migrations.' || current_schema()))");
    }
    struct unlock {
      pqxx::connection_base& c;
      ~unlock() {
        try {
          pqxx::nontransaction nt(c);
          nt.exec("SELECT pg_advisory_unlock(hashtext('chorus.migrations.' || current_schema()))");
        } catch (...) {
          // The connection is gone; the server released the lock with the session.
        }
      }
    } guard{conn};
    {
      pqxx::work tx(conn);
      tx.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
              " version integer PRIMARY KEY,"
              " name text NOT NULL,"
              " checksum text NOT NULL,"
              " applied_at timestamptz NOT NULL DEFAULT now())");
      tx.commit();
    }
    std::map<int, std::string> recorded;
    {
      pqxx::work tx(conn);
      for (const auto& row : tx.exec("SELECT version, checksum FROM schema_migrations"))
        recorded[row[0].as<int>()] = row[1].as<std::string>();
    }
    for (const auto& m : all) {
      auto sum = checksum(m.sql);
      auto it = recorded.find(m.version);
      if (it != recorded.end()) {
        if (it->second != sum)
          throw failure(errc::internal, "migration " + std::to_string(m.version) + "_" + m.name +
                                          " was changed after it was applied (checksum mismatch); "
                                          "migrations are forward-only: add a new one instead");
        continue;
      }
      pqxx::work tx(conn);
      try {
        tx.exec(std::string(m.sql));
      } catch (const pqxx::sql_error& e) {
        throw failure(errc::internal, "migration " + std::to_string(m.version) + "_" + m.name +
                                        " failed: " + e.what());
      }
      tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                     m.version, std::string(m.name), sum);
      tx.commit();
      result.applied.push_back(m.version);
      log::write(log::level::info, "migration applied",
                 {{"version", m.version}, {"name", m.name}});
    }
    {
      pqxx::work tx(conn);
      result.current_version = tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
    }
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
  return result;
}

} // namespace chorus::storage::pg
