#pragma once
// Event stamps: nanoseconds on the steady clock, carried in messages (at_ns) so
// that the receiver can measure how long an event took to take effect. Only
// comparable within one process.
#include <algorithm>
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

// Wall-clock stamps (epoch milliseconds) for events that cross processes, such
// as a job enqueued on one node and run on another; clock skew between nodes
// shows up in what is measured from them.
inline std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// The wall clock in epoch microseconds (rate-limit buckets: the same scale as
// Redis's TIME).
inline std::int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// Seconds since a stamp made by wall_now_ms (0 for a stamp of 0, and never negative).
inline double seconds_since_wall_ms(std::int64_t at_ms) {
  return at_ms > 0 ? static_cast<double>(std::max<std::int64_t>(0, wall_now_ms() - at_ms)) / 1e3 : 0.0;
}

} // namespace chorus
