#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace chorus::log {
namespace {
std::atomic<int> g_level{static_cast<int>(level::info)};

std::string iso_now() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}
} // namespace

bool parse_level(std::string_view text, level& out) noexcept {
  if (text == "debug") out = level::debug;
  else if (text == "info") out = level::info;
  else if (text == "warn" || text == "warning") out = level::warn;
  else if (text == "error") out = level::error;
  else return false;
  return true;
}

std::string_view to_string(level lvl) noexcept {
  switch (lvl) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "info";
}

void set_level(level lvl) noexcept { g_level.store(static_cast<int>(lvl)); }
level current_level() noexcept { return static_cast<level>(g_level.load()); }
bool enabled(level lvl) noexcept { return static_cast<int>(lvl) >= g_level.load(std::memory_order_relaxed); }

void write(level lvl, std::string_view msg, const nlohmann::json& fields) {
  if (!enabled(lvl))
    return;
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = iso_now();
  line["level"] = to_string(lvl);
  line["msg"] = msg;
  if (fields.is_object())
    for (auto it = fields.begin(); it != fields.end(); ++it)
      line[it.key()] = it.value();
  auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.push_back('\n');
  // One write per line: atomic for pipes up to PIPE_BUF and in practice for files.
  auto rc = ::write(STDERR_FILENO, text.data(), text.size());
  (void) rc;
}

void write(level lvl, std::string_view msg) { write(lvl, msg, nlohmann::json()); }

} // namespace chorus::log
