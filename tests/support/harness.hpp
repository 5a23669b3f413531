#pragma once
// Test harness: real servers only. The test command (scripts/test) starts a
// throwaway PostgreSQL and Redis and exports their addresses; tests create their
// own databases / key prefixes and start private servers when they need to stop one.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace chorus::test {

// Reads a variable exported by scripts/test; throws with a hint when missing.
std::string env(const char* name);

std::uint16_t free_port();
// A DSN for a loopback port nobody listens on: every connection attempt is refused.
std::string unreachable_pg_dsn();
std::string unique_name(const std::string& prefix);
std::string make_temp_dir(const std::string& prefix);

// Polls `pred` until it is true or `deadline` passes (condition wait, not a sleep).
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline = std::chrono::seconds(10),
                std::chrono::milliseconds step = std::chrono::milliseconds(10));

// A fresh database on the shared test server, dropped on destruction.
class temp_database {
public:
  explicit temp_database(std::string server_dsn = {});
  ~temp_database();
  const std::string& dsn() const noexcept { return dsn_; }
  const std::string& name() const noexcept { return name_; }
  // Runs SQL on this database (for setup and assertions) and returns the first
  // column of the first row as text ("" when no rows).
  std::string query_value(const std::string& sql) const;
  void exec(const std::string& sql) const;

private:
  std::string server_dsn_;
  std::string name_;
  std::string dsn_;
};

// A PostgreSQL server of our own (initdb in a temp dir), for tests that stop it.
class private_postgres {
public:
  private_postgres();
  ~private_postgres();
  void start();
  void stop();
  std::uint16_t port() const noexcept { return port_; }
  std::string dsn(const std::string& db = "postgres") const;

private:
  std::string dir_;
  std::uint16_t port_;
  bool running_ = false;
};

// A Redis server of our own, for tests that stop it.
class private_redis {
public:
  private_redis();
  ~private_redis();
  void start();
  void stop();
  std::uint16_t port() const noexcept { return port_; }

private:
  std::string dir_;
  std::uint16_t port_;
  int pid_ = -1;
};

// A child process with extra environment variables; stderr goes to a file.
class process {
public:
  process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
          const std::string& stderr_file);
  ~process();
  int pid() const noexcept { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit code (128+signal if killed), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);

private:
  int pid_ = -1;
  int status_ = -1;
  bool exited_ = false;
};

// A real chorusd on a free port against `db`, the shared Redis unless overridden.
class chorusd {
public:
  explicit chorusd(const std::string& pg_dsn, std::map<std::string, std::string> env = {});
  ~chorusd();
  std::uint16_t port() const noexcept { return port_; }
  std::string url(const std::string& path) const;
  std::string log() const;
  process& proc() { return *proc_; }
  // SIGTERM and wait; returns the exit code.
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));

private:
  std::string dir_;
  std::unique_ptr<process> proc_;
  std::uint16_t port_ = 0;
};

std::string chorusd_path();

struct http_response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;  // transport error, empty on success
  nlohmann::json json() const;
  std::string header(const std::string& name) const;
};

http_response http(const std::string& method, const std::string& url, const std::string& body = {},
                   const std::vector<std::string>& headers = {}, long timeout_ms = 15000);
inline http_response get(const std::string& url, const std::vector<std::string>& headers = {}) {
  return http("GET", url, {}, headers);
}

} // namespace chorus::test
