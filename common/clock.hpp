#pragma once
// Event stamps: nanoseconds on the steady clock, carried in messages (at_ns) so
// that the receiver can measure how long an event took to take effect. Only
// comparable within one process.
#include <chrono>
#include <cstdint>

namespace chorus {

inline std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

// Seconds since a stamp made by steady_now_ns (0 for a stamp of 0: not timed).
inline double seconds_since_ns(std::int64_t at_ns) {
  return at_ns > 0 ? static_cast<double>(steady_now_ns() - at_ns) / 1e9 : 0.0;
}

} // namespace chorus
