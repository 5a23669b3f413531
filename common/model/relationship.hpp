#pragma once
// Follows, follow requests, blocks and mutes as every layer sees them (see account.hpp).
#include "common/ids.hpp"

#include <cstdint>

namespace chorus::model {

struct relationship {
  account_id id;  // the other account
  bool following = false;
  bool showing_reblogs = false;
  bool notifying = false;
  bool followed_by = false;
  bool blocking = false;
  bool blocked_by = false;
  bool muting = false;
  bool muting_notifications = false;
  bool requested = false;     // I asked to follow them (they are locked)
  bool requested_by = false;  // they asked to follow me
};

enum class relation_verb : std::uint8_t { follow, unfollow, block, unblock, mute, unmute, authorize, reject };

struct relation_change {      // POST /api/v1/accounts/:id/<verb>, /api/v1/follow_requests/:id/<verb>
  account_id me;
  account_id target;
  relation_verb verb = relation_verb::follow;
  bool reblogs = true;              // follow
  bool notify = false;              // follow
  bool mute_notifications = true;   // mute
  std::int64_t mute_seconds = 0;    // mute; 0 = until unmuted
};

// Whose accounts a people list shows: followers/following of an account, or an
// account's own follow requests, blocks, mutes.
enum class people_kind : std::uint8_t { followers, following, follow_requests, blocks, mutes };

} // namespace chorus::model
