#include "support/harness.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <curl/curl.h>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace chorus::test {

std::string env(const char* name) {
  auto* v = std::getenv(name);
  if (!v || !*v)
    throw std::runtime_error(std::string(name) +
                             " is not set: run the tests through ./scripts/test, which starts the servers");
  return v;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string unreachable_pg_dsn() {
  return "host=127.0.0.1 port=" + std::to_string(free_port()) + " user=postgres dbname=postgres";
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream out;
  out << prefix << "_" << ::getpid() << "_" << counter++ << "_" << std::hex << (rng() & 0xffffff);
  return out.str();
}

std::string make_temp_dir(const std::string& prefix) {
  std::string base = "/tmp";
  if (auto* t = std::getenv("CHORUS_TEST_TMPDIR"))
    base = t;
  std::string tmpl = base + "/" + prefix + ".XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data()))
    throw std::runtime_error("mkdtemp failed");
  ::chmod(buf.data(), 0755);
  return buf.data();
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline,
                std::chrono::milliseconds step) {
  auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (pred())
      return true;
    if (std::chrono::steady_clock::now() >= end)
      return false;
    std::this_thread::sleep_for(step);
  }
}

// ---------------------------------------------------------------- databases

namespace {
std::string with_dbname(const std::string& dsn, const std::string& db) {
  // Replaces dbname=… in a key/value DSN (appends when absent).
  auto pos = dsn.find("dbname=");
  if (pos == std::string::npos)
    return dsn + " dbname=" + db;
  auto end = dsn.find(' ', pos);
  return dsn.substr(0, pos) + "dbname=" + db + (end == std::string::npos ? "" : dsn.substr(end));
}
} // namespace

temp_database::temp_database(std::string server_dsn)
  : server_dsn_(server_dsn.empty() ? env("CHORUS_TEST_PG_DSN") : std::move(server_dsn)),
    name_(unique_name("chorus_t")) {
  pqxx::connection c(server_dsn_);
  pqxx::nontransaction tx(c);
  tx.exec("CREATE DATABASE " + tx.quote_name(name_));
  dsn_ = with_dbname(server_dsn_, name_);
}

temp_database::~temp_database() {
  try {
    pqxx::connection c(server_dsn_);
    pqxx::nontransaction tx(c);
    tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
  } catch (...) {
  }
}

std::string temp_database::query_value(const std::string& sql) const {
  pqxx::connection c(dsn_);
  pqxx::work tx(c);
  auto r = tx.exec(sql);
  tx.commit();
  if (r.empty() || r[0][0].is_null())
    return {};
  return r[0][0].as<std::string>();
}

void temp_database::exec(const std::string& sql) const {
  pqxx::connection c(dsn_);
  pqxx::work tx(c);
  tx.exec(sql);
  tx.commit();
}

namespace {
int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}
} // namespace

private_postgres::private_postgres() : dir_(make_temp_dir("pg")), port_(free_port()) {
  auto bindir = env("CHORUS_TEST_PG_BINDIR");
  run("chown postgres:postgres " + dir_);
  auto rc = run("runuser -u postgres -- " + bindir + "/initdb -D " + dir_ +
                "/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null 2>&1");
  if (rc != 0)
    throw std::runtime_error("initdb failed for a private postgres");
  start();
}

private_postgres::~private_postgres() {
  stop();
  run("rm -rf " + dir_);
}

void private_postgres::start() {
  if (running_)
    return;
  auto bindir = env("CHORUS_TEST_PG_BINDIR");
  auto rc = run("runuser -u postgres -- " + bindir + "/pg_ctl -D " + dir_ + "/data -l " + dir_ +
                "/log -w -t 60 -o \"-p " + std::to_string(port_) +
                " -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off\" start >/dev/null 2>&1");
  if (rc != 0)
    throw std::runtime_error("private postgres did not start");
  running_ = true;
}

void private_postgres::stop() {
  if (!running_)
    return;
  run("runuser -u postgres -- " + env("CHORUS_TEST_PG_BINDIR") + "/pg_ctl -D " + dir_ +
      "/data -m immediate -w -t 60 stop >/dev/null 2>&1");
  running_ = false;
}

std::string private_postgres::dsn(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + db;
}

private_redis::private_redis() : dir_(make_temp_dir("redis")), port_(free_port()) { start(); }

private_redis::~private_redis() {
  stop();
  run("rm -rf " + dir_);
}

void private_redis::start() {
  if (pid_ > 0)
    return;
  auto server = env("CHORUS_TEST_REDIS_SERVER");
  pid_ = ::fork();
  if (pid_ == 0) {
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    auto port = std::to_string(port_);
    ::execl(server.c_str(), server.c_str(), "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", dir_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Ready when it accepts connections.
  bool up = wait_until([this] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  });
  if (!up)
    throw std::runtime_error("private redis did not start");
}

void private_redis::stop() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
}

// ---------------------------------------------------------------- processes

process::process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra,
                 const std::string& stderr_file) {
  std::map<std::string, std::string> envmap;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos)
      envmap[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : extra)
    envmap[k] = v;
  std::vector<std::string> envs;
  for (auto& [k, v] : envmap)
    envs.push_back(k + "=" + v);
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::dup2(fd, 1);
    std::vector<char*> av, ev;
    for (auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
    av.push_back(nullptr);
    for (auto& e : envs) ev.push_back(const_cast<char*>(e.c_str()));
    ev.push_back(nullptr);
    ::execve(av[0], av.data(), ev.data());
    ::_exit(127);
  }
}

process::~process() {
  if (running()) {
    signal(SIGKILL);
    wait(std::chrono::seconds(10));
  }
}

bool process::running() {
  if (exited_ || pid_ <= 0)
    return false;
  int st = 0;
  auto r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

void process::signal(int sig) {
  if (!exited_ && pid_ > 0)
    ::kill(pid_, sig);
}

int process::wait(std::chrono::milliseconds timeout) {
  if (wait_until([this] { return !running(); }, timeout))
    return status_;
  return -1;
}

std::string chorusd_path() { return CHORUS_CHORUSD_PATH; }

chorusd::chorusd(const std::string& pg_dsn, std::map<std::string, std::string> env_over)
  : dir_(make_temp_dir("chorusd")) {
  std::map<std::string, std::string> e = {
    {"CHORUS_PG_DSN", pg_dsn},
    {"CHORUS_REDIS_HOST", env("CHORUS_TEST_REDIS_HOST")},
    {"CHORUS_REDIS_PORT", env("CHORUS_TEST_REDIS_PORT")},
    {"CHORUS_HTTP_PORT", "0"},
    {"CHORUS_HTTP_PORT_FILE", dir_ + "/port"},
    {"CHORUS_NODE_NAME", unique_name("node")},
    {"CHORUS_PG_STARTUP_TIMEOUT_MS", "15000"},
    {"CHORUS_PG_POOL_SIZE", "2"},
    {"CHORUS_ACTORS_THREADS", "2"},
  };
  for (auto& [k, v] : env_over)
    e[k] = v;
  proc_ = std::make_unique<process>(std::vector<std::string>{chorusd_path()}, e, dir_ + "/stderr.log");
  bool up = wait_until(
    [this] {
      std::ifstream in(dir_ + "/port");
      int p = 0;
      if (in >> p && p > 0) {
        port_ = static_cast<std::uint16_t>(p);
        return true;
      }
      return !proc_->running();
    },
    std::chrono::seconds(30));
  if (!up || port_ == 0)
    throw std::runtime_error("chorusd did not start; its log:\n" + log());
}

chorusd::~chorusd() {
  proc_.reset();
  std::system(("rm -rf " + dir_).c_str());
}

std::string chorusd::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string chorusd::log() const {
  std::ifstream in(dir_ + "/stderr.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int chorusd::stop(std::chrono::milliseconds timeout) {
  proc_->signal(SIGTERM);
  return proc_->wait(timeout);
}

// ---------------------------------------------------------------- HTTP client

nlohmann::json http_response::json() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded())
    throw std::runtime_error("response is not JSON: " + body);
  return j;
}

std::string http_response::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {
size_t on_body(char* p, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(p, size * n);
  return size * n;
}
size_t on_header(char* p, size_t size, size_t n, void* user) {
  std::string line(p, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto value = line.substr(colon + 1);
    auto b = value.find_first_not_of(" \t");
    auto e = value.find_last_not_of(" \t\r\n");
    (*static_cast<std::map<std::string, std::string>*>(user))[name] =
      b == std::string::npos ? std::string() : value.substr(b, e - b + 1);
  }
  return size * n;
}
struct curl_init {
  curl_init() { curl_global_init(CURL_GLOBAL_DEFAULT); }
} curl_init_once;
} // namespace

http_response http(const std::string& method, const std::string& url, const std::string& body,
                   const std::vector<std::string>& headers, long timeout_ms) {
  http_response r;
  CURL* c = curl_easy_init();
  curl_slist* hs = nullptr;
  for (auto& h : headers)
    hs = curl_slist_append(hs, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  if (method == "HEAD")
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);  // a HEAD response has a length but no body
  else
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  auto rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    r.error = curl_easy_strerror(rc);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(hs);
  curl_easy_cleanup(c);
  return r;
}

} // namespace chorus::test
