#include "storage/pg/connection.hpp"

#include "common/errc.hpp"

#include <pqxx/pqxx>

namespace chorus::storage::pg {

std::unique_ptr<pqxx::connection> connect(const connect_options& opts) {
  std::string dsn = opts.dsn;
  bool uri = dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
  if (uri) {
    dsn += dsn.find('?') == std::string::npos ? '?' : '&';
    dsn += "connect_timeout=" + std::to_string(opts.connect_timeout_s) + "&application_name=" + opts.application_name;
  } else {
    dsn += " connect_timeout=" + std::to_string(opts.connect_timeout_s);
    dsn += " application_name=" + opts.application_name;
  }
  try {
    auto conn = std::make_unique<pqxx::connection>(dsn);
    // statement_timeout is enforced by the server, so a stuck query cannot pin a
    // worker; set_variable re-applies it if libpqxx reactivates the connection.
    if (opts.statement_timeout_ms > 0)
      conn->set_variable("statement_timeout", std::to_string(opts.statement_timeout_ms));
    return conn;
  } catch (const std::exception& e) {
    throw failure(errc::unavailable, std::string("postgres connect failed: ") + e.what());
  }
}

bool is_connection_loss(std::exception_ptr ep) noexcept {
  try {
    std::rethrow_exception(ep);
  } catch (const pqxx::broken_connection&) {
    return true;
  } catch (const pqxx::in_doubt_error&) {
    return true;
  } catch (const failure& f) {
    return f.code() == errc::unavailable;
  } catch (...) {
    return false;
  }
}

void rethrow_translated(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const failure&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw failure(errc::unavailable, std::string("postgres connection lost: ") + e.what());
  } catch (const pqxx::in_doubt_error& e) {
    throw failure(errc::unavailable, std::string("postgres commit in doubt: ") + e.what());
  } catch (const pqxx::statement_completion_unknown& e) {
    throw failure(errc::unavailable, std::string("postgres statement outcome unknown: ") + e.what());
  } catch (const pqxx::transaction_rollback& e) {
    // deadlock_detected, serialization_failure (libpqxx 6 does not derive these from
    // sql_error): the transaction was rolled back and may simply be run again.
    throw failure(errc::aborted, std::string("postgres aborted the transaction: ") + e.what());
  } catch (const pqxx::unique_violation&) {
    // A 409's description reaches the client: the driver's text (constraint,
    // key values of other records) must not.
    throw failure(errc::conflict, "the write conflicts with an existing record");
  } catch (const pqxx::sql_error& e) {
    // SQLSTATE class 08 (connection exception) and 57P0x (admin shutdown) mean the
    // server went away underneath us.
    auto state = e.sqlstate();
    if (state == "40P01" || state == "40001")
      throw failure(errc::aborted, std::string("postgres aborted the transaction: ") + e.what());
    if (state == "57014")
      throw failure(errc::timeout, std::string("postgres statement timed out: ") + e.what());
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0)
      throw failure(errc::unavailable, std::string("postgres unavailable: ") + e.what());
    throw failure(errc::internal, std::string("postgres error ") + state + ": " + e.what());
  } catch (const std::exception& e) {
    throw failure(errc::internal, e.what());
  }
}

std::string bigint_array(const std::vector<std::int64_t>& xs) {
  std::string out = "{";
  for (std::size_t i = 0; i < xs.size(); ++i)
    out += (i ? "," : "") + std::to_string(xs[i]);
  return out + "}";
}

std::string text_array(const std::vector<std::string>& xs) {
  std::string out = "{";
  for (std::size_t i = 0; i < xs.size(); ++i)
    out += (i ? "," : "") + quote_array_element(xs[i]);
  return out + "}";
}

std::string float8_array(const std::vector<double>& xs) {
  std::string out = "{";
  for (std::size_t i = 0; i < xs.size(); ++i)
    out += (i ? "," : "") + std::to_string(xs[i]);
  return out + "}";
}

std::vector<std::int64_t> parse_bigint_array(const pqxx::field& f) {
  std::vector<std::int64_t> out;
  for (auto& s : parse_text_array(f))
    out.push_back(std::stoll(s));
  return out;
}

std::vector<std::string> parse_text_array(const pqxx::field& f) {
  std::vector<std::string> out;
  if (f.is_null())
    return out;
  auto parser = f.as_array();
  for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::done; std::tie(kind, value) = parser.get_next())
    if (kind == pqxx::array_parser::string_value)
      out.push_back(value);
  return out;
}

std::string quote_array_element(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

} // namespace chorus::storage::pg
