#pragma once
// Home-timeline entries as every layer sees them (see account.hpp).
#include "common/ids.hpp"

#include <cstdint>

namespace chorus::model {

// One home-timeline item: the status id (a reblog's own id for reblogs), its
// author, and for a reblog the author of the reblogged status (else 0).
struct feed_entry {
  status_id id;
  account_id author;
  account_id origin_author;
};

// A recent status of a large author, with what read-time merging filters on.
struct ring_entry {
  feed_entry entry;
  account_id in_reply_to_account;
  std::int16_t visibility = 0;
};

} // namespace chorus::model
