#pragma once
// Postgres connection handling (no CAF here): opening a session with our settings
// and translating libpqxx exceptions into chorus::failure at this boundary.
#include <exception>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/connection>

namespace chorus::storage::pg {

struct connect_options {
  std::string dsn;
  int connect_timeout_s = 3;
  int statement_timeout_ms = 5000;
  std::string application_name = "chorus";
};

// Opens a connection; throws chorus::failure(errc::unavailable) when the server
// cannot be reached.
std::unique_ptr<pqxx::connection> connect(const connect_options& opts);

// Maps the exception currently being handled (or `ep`) to a chorus::failure:
// broken connections → unavailable, statement timeouts → timeout,
// unique violations → conflict, everything else → internal.
[[noreturn]] void rethrow_translated(std::exception_ptr ep);

// True if the exception means the connection is gone and must be reopened.
bool is_connection_loss(std::exception_ptr ep) noexcept;

// Quotes a string for use as a SQL literal inside an array literal etc.
std::string quote_array_element(const std::string& s);

// Array literals for $n::bigint[] / $n::text[] parameters (libpqxx 6 has no
// std::vector → SQL array conversion).
std::string bigint_array(const std::vector<std::int64_t>& xs);
std::string text_array(const std::vector<std::string>& xs);
std::string float8_array(const std::vector<double>& xs);
// Reads a bigint[] / text[] column (NULL → empty).
std::vector<std::int64_t> parse_bigint_array(const pqxx::field& f);
std::vector<std::string> parse_text_array(const pqxx::field& f);

// Runs `fn` and translates any exception into chorus::failure (see rethrow_translated).
template <class Fn>
auto translated(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    rethrow_translated(std::current_exception());
  }
}

} // namespace chorus::storage::pg
