#include "actors/cluster/placement.hpp"

namespace chorus::actors::cluster {
namespace {

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

} // namespace

std::uint64_t rendezvous_weight(std::string_view member, account_id account) noexcept {
  return splitmix64(fnv1a(member) ^ splitmix64(static_cast<std::uint64_t>(static_cast<std::int64_t>(account))));
}

std::size_t owner_index(const std::vector<std::string>& members, account_id account) noexcept {
  std::size_t best = 0;
  std::uint64_t best_w = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    auto w = rendezvous_weight(members[i], account);
    if (i == 0 || w > best_w || (w == best_w && members[i] < members[best])) {
      best = i;
      best_w = w;
    }
  }
  return best;
}

} // namespace chorus::actors::cluster
