#pragma once
// The wire form of the model types (common/model) in CAF's inspect protocol:
// every field, in declaration order. tests/unit/protocol_wire_test.cpp checks
// that each inspect names as many fields as its struct has, and that every
// remote message survives a binary round trip.
#include "common/model/account.hpp"
#include "common/model/conversation.hpp"
#include "common/model/feed.hpp"
#include "common/model/job.hpp"
#include "common/model/notification.hpp"
#include "common/model/relationship.hpp"
#include "common/model/status.hpp"

#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/save_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace chorus::actors::wire {

// std::optional<T> as (present, value): CAF 0.17 has no built-in form for it.
template <class T>
struct optional_ref {
  std::optional<T>& ref;
};

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, optional_ref<T>& x) {
  bool present = x.ref.has_value();
  T value = present ? *x.ref : T{};
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("optional"), present, value);
  } else {
    auto load = caf::meta::load_callback([&]() -> caf::error {
      if (present)
        x.ref = std::move(value);
      else
        x.ref.reset();
      return caf::none;
    });
    return f(caf::meta::type_name("optional"), present, value, load);
  }
}

template <class T>
optional_ref<T> opt(std::optional<T>& x) {
  return {x};
}

// A shared immutable string (a rendered page) travels as its text; a null
// pointer and an empty string arrive alike, as null.
struct shared_text_ref {
  std::shared_ptr<const std::string>& ref;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_text_ref& x) {
  std::string text = x.ref ? *x.ref : std::string{};
  if constexpr (Inspector::reads_state) {
    return f(caf::meta::type_name("shared_text"), text);
  } else {
    auto load = caf::meta::load_callback([&]() -> caf::error {
      x.ref = text.empty() ? nullptr : std::make_shared<const std::string>(std::move(text));
      return caf::none;
    });
    return f(caf::meta::type_name("shared_text"), text, load);
  }
}

inline shared_text_ref shared_text(std::shared_ptr<const std::string>& x) {
  return {x};
}

} // namespace chorus::actors::wire

namespace chorus::model {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, account& x) {
  return f(caf::meta::type_name("account"), x.id, x.username, x.display_name, x.note, x.locked, x.bot,
           x.discoverable, x.followers_count, x.following_count, x.statuses_count, x.created_at, x.last_status_at,
           x.follow_requests_count);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, account_update& x) {
  using actors::wire::opt;
  auto a = opt(x.display_name);
  auto b = opt(x.note);
  auto c = opt(x.locked);
  auto d = opt(x.bot);
  auto e = opt(x.discoverable);
  return f(caf::meta::type_name("account_update"), a, b, c, d, e);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, account_page& x) {
  return f(caf::meta::type_name("account_page"), x.accounts, x.newest_cursor, x.oldest_cursor);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_stats& x) {
  return f(caf::meta::type_name("instance_stats"), x.user_count, x.status_count, x.active_month,
           x.registrations_open);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_status& x) {
  return f(caf::meta::type_name("new_status"), x.id, x.account_id, x.application_id, x.text, x.content,
           x.mention_ids, x.tags, x.spoiler_text, x.language, x.sensitive, x.visibility, x.in_reply_to_id,
           x.idempotency_key);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, create_result& x) {
  return f(caf::meta::type_name("create_result"), x.id, x.replayed, x.parent_missing);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status& x) {
  return f(caf::meta::type_name("status"), x.id, x.account_id, x.text, x.content, x.spoiler_text, x.sensitive,
           x.visibility, x.language, x.in_reply_to_id, x.in_reply_to_account_id, x.reblog_of_id, x.replies_count,
           x.reblogs_count, x.favourites_count, x.created_at, x.deleted, x.mention_ids, x.tags, x.favourited,
           x.reblogged, x.bookmarked, x.viewer_follows_author, x.blocked);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_bundle& x) {
  return f(caf::meta::type_name("status_bundle"), x.statuses, x.reblogged, x.accounts);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, conversation& x) {
  return f(caf::meta::type_name("conversation"), x.id, x.account_id, x.participants, x.last_status_id, x.unread);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, page& x) {
  return f(caf::meta::type_name("page"), x.max_id, x.since_id, x.min_id, x.limit);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_action& x) {
  return f(caf::meta::type_name("status_action"), x.viewer, x.id, x.verb, x.visibility);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relationship& x) {
  return f(caf::meta::type_name("relationship"), x.id, x.following, x.showing_reblogs, x.notifying, x.followed_by,
           x.blocking, x.blocked_by, x.muting, x.muting_notifications, x.requested, x.requested_by);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, relation_change& x) {
  return f(caf::meta::type_name("relation_change"), x.me, x.target, x.verb, x.reblogs, x.notify,
           x.mute_notifications, x.mute_seconds);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, feed_entry& x) {
  return f(caf::meta::type_name("feed_entry"), x.id, x.author, x.origin_author);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ring_entry& x) {
  return f(caf::meta::type_name("ring_entry"), x.entry, x.in_reply_to_account, x.visibility);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job& x) {
  return f(caf::meta::type_name("job"), x.id, x.queue, x.kind, x.payload, x.priority, x.attempts, x.max_attempts,
           x.state, x.unique_key, x.last_error, x.run_at, x.created_at, x.lease_owner);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_depth& x) {
  return f(caf::meta::type_name("queue_depth"), x.queue, x.queued, x.runnable, x.running, x.dead,
           x.oldest_runnable_s);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification& x) {
  return f(caf::meta::type_name("notification"), x.id, x.type, x.created_at, x.account_id, x.from_account_id, x.status,
           x.group_key, x.filtered);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification_group& x) {
  return f(caf::meta::type_name("notification_group"), x.group_key, x.notifications_count, x.type,
           x.most_recent_notification_id, x.page_min_id, x.page_max_id, x.latest_page_notification_at,
           x.sample_account_ids, x.status);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification_request& x) {
  return f(caf::meta::type_name("notification_request"), x.id, x.from_account_id, x.last_status,
           x.notifications_count, x.created_at, x.updated_at);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, notification_policy& x) {
  return f(caf::meta::type_name("notification_policy"), x.for_not_following, x.for_not_followers,
           x.for_new_accounts, x.for_private_mentions, x.for_limited_accounts, x.pending_requests_count,
           x.pending_notifications_count);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, marker& x) {
  return f(caf::meta::type_name("marker"), x.timeline, x.last_read_id, x.version, x.updated_at);
}

} // namespace chorus::model
