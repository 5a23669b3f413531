#pragma once
// Structured logging: one JSON object per line on stderr, written with a single
// write(2) so lines from different threads never interleave.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace chorus::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3 };

bool parse_level(std::string_view text, level& out) noexcept;
std::string_view to_string(level lvl) noexcept;
void set_level(level lvl) noexcept;
level current_level() noexcept;
bool enabled(level lvl) noexcept;

// Writes {"ts":..., "level":..., "msg": msg, ...fields}. `fields` must be an object or null.
void write(level lvl, std::string_view msg, const nlohmann::json& fields);
void write(level lvl, std::string_view msg);

inline void debug(std::string_view m) { if (enabled(level::debug)) write(level::debug, m); }
inline void info(std::string_view m) { write(level::info, m); }
inline void warn(std::string_view m) { write(level::warn, m); }
inline void error(std::string_view m) { write(level::error, m); }

} // namespace chorus::log
