#pragma once
// Time-sortable 64-bit ids made without a database round trip, in Mastodon's
// layout: milliseconds since the Unix epoch in the top 48 bits, then 6 bits of
// node id and a 10-bit sequence. An id made at time t is greater than
// (t_ms << 16), so a timestamp converts to a pagination cursor directly.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

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

// ---- Strong ids ---------------------------------------------------------------
// An account id, a status id and a job id are all 64-bit numbers, but never
// interchangeable: every interface (actor messages, the model types, the HTTP
// layer's requests) names the kind. Making one from a number needs the kind's
// name (`account_id{n}`); reading the number is free (it converts to int64_t, so
// SQL parameters and JSON text take it as is); ids of two kinds do not compare.
template <class Tag>
class strong_id {
public:
  using value_type = std::int64_t;

  constexpr strong_id() noexcept = default;
  constexpr explicit strong_id(std::int64_t v) noexcept : v_(v) {}
  template <class Other>
  explicit strong_id(strong_id<Other>) = delete;  // an id of another kind is not this kind

  constexpr std::int64_t value() const noexcept { return v_; }
  constexpr operator std::int64_t() const noexcept { return v_; }

  // The wire form (CAF's inspect protocol; no CAF header needed here).
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, strong_id& x) {
    return f(x.v_);
  }

private:
  std::int64_t v_ = 0;
};

template <class A, class B, class = std::enable_if_t<!std::is_same<A, B>::value>>
bool operator==(strong_id<A>, strong_id<B>) = delete;
template <class A, class B, class = std::enable_if_t<!std::is_same<A, B>::value>>
bool operator!=(strong_id<A>, strong_id<B>) = delete;
template <class A, class B, class = std::enable_if_t<!std::is_same<A, B>::value>>
bool operator<(strong_id<A>, strong_id<B>) = delete;

// As JSON (nlohmann finds these by ADL; no json header needed here): the number.
template <class Json, class Tag>
void to_json(Json& j, strong_id<Tag> x) {
  j = x.value();
}
template <class Json, class Tag>
void from_json(const Json& j, strong_id<Tag>& x) {
  x = strong_id<Tag>{j.template get<std::int64_t>()};
}

using account_id = strong_id<struct account_tag>;
using status_id = strong_id<struct status_tag>;
using job_id = strong_id<struct job_tag>;
using app_id = strong_id<struct app_tag>;       // an OAuth application
using token_id = strong_id<struct token_tag>;   // an OAuth access token
using notification_id = strong_id<struct notification_tag>;
using notification_request_id = strong_id<struct notification_request_tag>;
using conversation_id = strong_id<struct conversation_tag>;  // one participant's direct conversation

// A list of ids of one kind as plain numbers (for SQL array parameters).
template <class Tag>
std::vector<std::int64_t> raw_ids(const std::vector<strong_id<Tag>>& ids) {
  return std::vector<std::int64_t>(ids.begin(), ids.end());
}

// The other way: numbers read from storage, named.
template <class Id>
std::vector<Id> ids_of(const std::vector<std::int64_t>& raw) {
  std::vector<Id> out;
  out.reserve(raw.size());
  for (auto v : raw) out.emplace_back(v);
  return out;
}

} // namespace chorus

namespace std {
template <class Tag>
struct hash<chorus::strong_id<Tag>> {
  size_t operator()(chorus::strong_id<Tag> x) const noexcept { return hash<int64_t>{}(x.value()); }
};
} // namespace std
