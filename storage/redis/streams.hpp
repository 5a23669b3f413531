#pragma once
// Redis schema of the per-user streaming outboxes (issue #14): one Redis stream
// per user, `chorus:stream:<account>`, whose entry ids are `<seq>-0` for the
// user's outbox sequence 1, 2, 3, … Each entry holds the event name (`e`), its
// payload (`p`), the user streams it belongs to (`s`, comma-separated) and the
// account that caused it (`f`). An entry whose event is `gap_event` marks that
// events before it may have been dropped (the outbox was not live). No CAF here.
#include "storage/redis/context.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chorus::storage::redis {

inline constexpr const char* gap_event = "_gap";

std::string stream_key(std::int64_t account);

struct stream_entry {
  std::int64_t seq = 0;
  std::string event;
  std::string payload;
  std::vector<std::string> streams;
  std::int64_t from = 0;
};

// XADD key MAXLEN ~ cap <seq>-0 e … p … s … f …
command stream_append(std::int64_t account, const stream_entry& e, int cap);
// The newest entry (XREVRANGE key + - COUNT 1): its seq is the outbox's last.
command stream_last(std::int64_t account);
// Entries after `since` (XRANGE key (since+1)-0 + COUNT limit), oldest first.
command stream_after(std::int64_t account, std::int64_t since, int limit);
// Keeps a stream whose user streams from time to time (renewed at each activation).
command stream_expire(std::int64_t account, std::int64_t ttl_s);

// Parses an XRANGE/XREVRANGE reply; entries that do not parse are skipped.
std::vector<stream_entry> parse_stream_entries(const reply& r);

// What a client resuming after `since` gets from the entries after it (read
// after the outbox reached `last`): the events to replay (seq in (since, last],
// oldest first, gap markers left out), or refetch when any event in between is
// gone — trimmed from the outbox, dropped while the outbox was not live (a gap
// marker), or unknown (since beyond last: the outbox was lost).
struct replay_plan {
  bool refetch = false;
  std::vector<stream_entry> events;
};
replay_plan plan_replay(std::int64_t since, std::int64_t last, std::vector<stream_entry> after);

} // namespace chorus::storage::redis
