#pragma once
// Queries behind the home-timeline feeds: who receives a new status (fan-out on
// write), a bounded rebuild of one user's timeline, the per-viewer snapshot a
// feed actor keeps (follows, hidden accounts, interaction flags), the recent
// statuses of large authors, and who must lose a deleted status. No CAF here.
#include "common/model/feed.hpp"
#include "storage/pg/jobs.hpp"
#include "storage/pg/statuses.hpp"

#include <cstdint>
#include <vector>

namespace pqxx { class connection_base; }

namespace chorus::storage::pg {

using model::feed_entry;
using model::ring_entry;

// What fan-out on write needs to know about a new status.
struct fanout_post {
  feed_entry entry;
  std::int64_t in_reply_to_account = 0;
  std::int16_t visibility = 0;
  std::vector<std::int64_t> mentions;
};

struct fanout_targets {
  std::int64_t followers = 0;            // the author's follower count
  std::vector<std::int64_t> recipients;  // whose home timelines receive it (author first if active)
};

// Recipients of `post` under Mastodon's home rules: the author; for public,
// unlisted and private statuses every follower active since `active_days`
// (reblogs only to those showing the author's reblogs, replies to another
// account only to those who also follow it, never to accounts muting or
// blocking the author or the reblogged author); direct statuses only to
// mentioned followers. When the author has more than `max_followers` followers
// and the status is not direct, only the count is filled (read-time merge).
fanout_targets fanout_recipients(pqxx::connection_base& c, const fanout_post& post, std::int64_t max_followers,
                                 int active_days);

// The newest `limit` entries of `viewer`'s home timeline, computed with one
// bounded query (the same rules as home_timeline).
std::vector<feed_entry> rebuild_home(pqxx::connection_base& c, std::int64_t viewer, int limit);

// Statuses of `author` newest first, to merge into a follower's timeline (on
// follow) or into the ring of a large author. Public, unlisted and private; no
// direct ones.
std::vector<ring_entry> recent_of_author(pqxx::connection_base& c, std::int64_t author, int limit);

std::int64_t followers_count(pqxx::connection_base& c, std::int64_t account);

// What a feed actor keeps about its viewer.
struct followed {
  std::int64_t account = 0;
  std::int64_t followers = 0;
  bool show_reblogs = true;
};

struct feed_snapshot {
  std::vector<followed> following;        // capped at `max_following`
  std::vector<std::int64_t> hidden;       // blocked, blocking or muted (unexpired)
};

feed_snapshot load_snapshot(pqxx::connection_base& c, std::int64_t viewer, int max_following);
// The accounts `viewer` blocks, is blocked by, or mutes (unexpired): what never reaches their streams.
std::vector<std::int64_t> hidden_accounts(pqxx::connection_base& c, std::int64_t viewer);

struct viewer_flags {
  std::vector<std::int64_t> favourited, reblogged, bookmarked;  // subsets of the ids asked for
};

viewer_flags load_flags(pqxx::connection_base& c, account_id viewer, const std::vector<status_id>& ids);

// For removed statuses: every account whose home timeline may hold them (the
// authors and the followers of the authors), and the exact entries.
struct removal_targets {
  std::vector<feed_entry> entries;
  std::vector<std::int64_t> accounts;
};

removal_targets removal_recipients(pqxx::connection_base& c, const std::vector<status_id>& ids);

// The statuses among `ids` that still exist (not deleted), oldest first: what a
// fan-out job delivers.
std::vector<fanout_post> posts_by_ids(pqxx::connection_base& c, const std::vector<std::int64_t>& ids);

// Fan-out and revocation are durable jobs in queue "feeds", enqueued (with
// enqueue_jobs) in the transaction that commits the status or its removal: a
// node that stops after the commit leaves the job to another node, or to itself
// after a restart. Payloads: {"status":ID,"at":MS} and
// {"ids":[ID…],"author":ID,"at":MS}, where `at` is the wall clock at enqueue
// (epoch milliseconds; the lag metrics start there). Unique keys fanout:ID and
// revoke:ID[,ID…] make a repeated enqueue of an active job a no-op.
inline constexpr const char* feed_queue = "feeds";
inline constexpr const char* fanout_kind = "feed.fanout";
inline constexpr const char* revoke_kind = "feed.revoke";
new_job fanout_job(std::int64_t status_id);
new_job revoke_job(const std::vector<std::int64_t>& ids, std::int64_t author);

// Marks accounts as active now (their feeds receive pushes for active_days).
void touch_active(pqxx::connection_base& c, const std::vector<std::int64_t>& accounts);

} // namespace chorus::storage::pg
