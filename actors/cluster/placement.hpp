#pragma once
// Placement of per-user actors: rendezvous (highest random weight) hashing over
// the members that own users. Every node computes the same owner from the same
// member names, and when a member leaves only its users move (to the member with
// their next highest score); when one joins, only the users it now wins move.
#include "common/ids.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::actors::cluster {

// The weight of `member` for `account` (a mix of both; stable across nodes and runs).
std::uint64_t rendezvous_weight(std::string_view member, account_id account) noexcept;

// The index in `members` of the owner of `account` (members non-empty; ties,
// which need equal 64-bit weights, go to the lower name).
std::size_t owner_index(const std::vector<std::string>& members, account_id account) noexcept;

} // namespace chorus::actors::cluster
