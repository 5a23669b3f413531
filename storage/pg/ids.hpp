#pragma once
// Strong ids (common/ids.hpp) as libpqxx parameters and field values: they bind
// and read as bigint, so statements take `account_id` etc. as they are and
// `row[i].as<status_id>()` names what it reads. Included by storage .cpp files only.
#include "common/ids.hpp"

#include <pqxx/strconv>
#include <cstdint>
#include <string>
#include <vector>

namespace pqxx {

template <class Tag>
struct string_traits<chorus::strong_id<Tag>> {
  using id = chorus::strong_id<Tag>;
  static constexpr const char* name() noexcept { return "chorus::strong_id"; }
  static constexpr bool has_null() noexcept { return false; }
  static bool is_null(id) { return false; }
  [[noreturn]] static id null() { internal::throw_null_conversion(name()); }
  static void from_string(const char str[], id& obj) {
    std::int64_t v = 0;
    string_traits<std::int64_t>::from_string(str, v);
    obj = id{v};
  }
  static std::string to_string(id obj) { return string_traits<std::int64_t>::to_string(obj.value()); }
};

} // namespace pqxx

namespace chorus::storage::pg {

std::string bigint_array(const std::vector<std::int64_t>& xs);

// An id list as a Postgres bigint[] literal.
template <class Tag>
std::string bigint_array(const std::vector<strong_id<Tag>>& xs) {
  return bigint_array(raw_ids(xs));
}

} // namespace chorus::storage::pg
