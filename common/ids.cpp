#include "common/ids.hpp"

#include <chrono>

namespace chorus {

namespace {
std::uint64_t wall_millis() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}
} // namespace

id_generator::id_generator(std::uint8_t node, clock_fn clock)
  : node_(static_cast<std::uint8_t>(node & 0x3f)), clock_(clock ? std::move(clock) : clock_fn(wall_millis)) {}

std::uint64_t id_generator::next() noexcept {
  const std::uint64_t node_bits = static_cast<std::uint64_t>(node_) << 10;
  std::uint64_t base = (clock_() << 16) | node_bits;
  std::uint64_t prev = last_.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t cand = base > prev ? base : prev + 1;
    // Sequence exhausted within this millisecond: continue in the next one.
    if ((cand & (0x3fULL << 10)) != node_bits)
      cand = (((cand >> 16) + 1) << 16) | node_bits;
    if (last_.compare_exchange_weak(prev, cand, std::memory_order_relaxed))
      return cand;
  }
}

std::uint8_t node_id_from_name(const std::string& name) noexcept {
  std::uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : name) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<std::uint8_t>(h % 63);  // 63 is reserved for chorusctl
}

} // namespace chorus
