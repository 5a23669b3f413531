#pragma once
// Statuses as every layer sees them (see account.hpp): what is posted, what is
// stored and read back, the interactions on them and pagination.
#include "common/ids.hpp"
#include "common/model/account.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace chorus::model {

enum class visibility : std::int16_t { public_ = 0, unlisted = 1, private_ = 2, direct = 3 };

// A status to store. Storage stores, it does not render: the statuses actor
// parses `text` and fills `content`, `mention_ids` and `tags`.
struct new_status {
  status_id id;
  chorus::account_id account_id;
  app_id application_id;
  std::string text;
  std::string content;                   // the rendered HTML of `text`
  std::vector<chorus::account_id> mention_ids;   // local accounts mentioned in `text`, each once
  std::vector<std::string> tags;         // its hashtags, lower-case, each once
  std::string spoiler_text;
  std::string language;        // "" = none
  bool sensitive = false;
  std::int16_t visibility = 0;
  status_id in_reply_to_id;
  std::string idempotency_key; // "" = none
};

struct create_result {
  status_id id;             // the new status, or the earlier one for a repeated Idempotency-Key
  bool replayed = false;    // true: an earlier request with the same key created it
  bool parent_missing = false;  // in_reply_to_id is unknown, deleted or not visible to the author: nothing written
};

struct status {
  status_id id;
  chorus::account_id account_id;
  std::string text;
  std::string content;
  std::string spoiler_text;
  bool sensitive = false;
  std::int16_t visibility = 0;
  std::string language;
  status_id in_reply_to_id;
  chorus::account_id in_reply_to_account_id;
  status_id reblog_of_id;
  std::int32_t replies_count = 0;
  std::int32_t reblogs_count = 0;
  std::int32_t favourites_count = 0;
  std::string created_at;
  bool deleted = false;
  std::vector<chorus::account_id> mention_ids;
  std::vector<std::string> tags;
  // For the viewer (false without one).
  bool favourited = false;
  bool reblogged = false;
  bool bookmarked = false;
  bool viewer_follows_author = false;
  bool blocked = false;  // the author blocks the viewer or the viewer blocks the author
};

// A hydrated set: the statuses asked for (in order, missing ones skipped), the
// statuses they reblog, and every account any of them refers to.
struct status_bundle {
  std::vector<status> statuses;
  std::unordered_map<status_id, status> reblogged;
  std::unordered_map<chorus::account_id, account> accounts;
};

// Mastodon's pagination: ids (or other cursors) bound the page.
struct page {
  std::int64_t max_id = 0;    // exclusive upper bound (0 = none)
  std::int64_t since_id = 0;  // exclusive lower bound, newest first
  std::int64_t min_id = 0;    // exclusive lower bound, oldest first (then returned newest first)
  int limit = 20;
};

// takedown: a moderator removes any status (and its reblogs); the viewer is ignored.
enum class status_verb : std::uint8_t { favourite, unfavourite, reblog, unreblog, bookmark, unbookmark, remove, takedown };

struct status_action {        // POST /api/v1/statuses/:id/<verb>, DELETE /api/v1/statuses/:id
  chorus::account_id viewer;
  status_id id;
  status_verb verb = status_verb::favourite;
  std::int16_t visibility = 0;  // reblog only
};

} // namespace chorus::model
