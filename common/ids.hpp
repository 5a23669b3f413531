#pragma once
// Time-sortable 64-bit ids made without a database round trip, in Mastodon's
// layout: milliseconds since the Unix epoch in the top 48 bits, then 6 bits of
// node id and a 10-bit sequence. An id made at time t is greater than
// (t_ms << 16), so a timestamp converts to a pagination cursor directly.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace chorus {

class id_generator {
public:
  using clock_fn = std::function<std::uint64_t()>;  // milliseconds since the Unix epoch

  explicit id_generator(std::uint8_t node, clock_fn clock = {});

  // Unique and strictly increasing within this generator (also across threads
  // and if the wall clock steps back); unique across nodes with distinct node ids.
  std::uint64_t next() noexcept;

  std::uint8_t node() const noexcept { return node_; }

  static std::uint64_t millis_of(std::uint64_t id) noexcept { return id >> 16; }
  static std::uint64_t lowest_id_at(std::uint64_t millis) noexcept { return millis << 16; }

private:
  std::uint8_t node_;  // 0..63
  clock_fn clock_;
  std::atomic<std::uint64_t> last_{0};
};

// Node id derived from a node name (stable, 0..62), for when none is configured.
// Id 63 is reserved for chorusctl.
constexpr std::uint8_t cli_node_id = 63;
std::uint8_t node_id_from_name(const std::string& name) noexcept;

} // namespace chorus
