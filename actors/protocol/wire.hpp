#pragma once
// What may cross nodes: the remote messages (messages.hpp) and the model types
// sent on their own, as one list. A node registers each under the name its
// inspect() gives ("chorus.<name>"), and the protocol version says which
// layout of them it speaks (a cluster refuses a node with another version).
#include "actors/protocol/messages.hpp"

#include <caf/detail/type_list.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>
#include <cstdint>
#include <string>
#include <type_traits>

namespace chorus::actors {

// Raise when any remote message or model type changes its fields.
inline constexpr std::uint32_t protocol_version = 3;  // 2: the cluster messages; 3: streaming

using remote_types = caf::detail::type_list<
  // node status
  pool_status, redis_status, readiness, node_entry, migration_entry,
  // oauth and accounts
  app_spec, app_query, app_created, token_grant, authorize_check, authorize_request, authorization, token_issued,
  token_revoke, bearer, auth_context, registration, account_query, instance_query, credentials_update,
  model::account, model::account_page, model::instance_stats,
  // statuses and relationships
  status_view, status_create, status_get, model::status_action, timeline_query, context_query, people_query,
  model::relation_change, relations_query, relationship_list, people_list_query, model::relationship,
  // feeds, hot-status invalidation, trends
  feed_post, feed_removal, feed_relation, feed_interaction, home_query, feed_push, feed_revoke, ring_query,
  ring_reply, hot_invalidate, feed_stats, trend_statuses_query, trend_tags_query, trend_tag_list,
  // jobs
  job_work, job_wake, jobs_query, jobs_view, jobs_action, jobs_changed, job_pool_stats,
  // the cluster
  member_info, cluster_hello, cluster_challenge, member_actors, cluster_join, cluster_welcome, cluster_ping,
  cluster_pong, token_revoked, member_view, cluster_status, feed_delivery, feed_deliveries, feed_revocation, feed_changed,
  // streaming
  stream_event, user_stream_event, user_stream_batch, user_stream_delivery, outbox_watch, outbox_replay,
  shared_stream_event, large_status_event, stream_stats,
  // notifications and markers
  notification_query, notification_view,
  // conversations
  model::conversation, conversation_query, conversation_action, conversation_view>;

namespace wire {
// Reads the type name an inspect() passes first and ignores the fields.
struct name_reader {
  using result_type = caf::error;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  std::string name;

  template <class... Ts>
  caf::error operator()(Ts&&... xs) {
    (take(xs), ...);
    return caf::none;
  }

  template <class T>
  void take(const T& x) {
    if constexpr (std::is_same<std::decay_t<T>, caf::meta::type_name_t>::value)
      if (name.empty())
        name = x.value;
  }
};
} // namespace wire

// The name a type's inspect() gives itself (its first caf::meta::type_name).
template <class T>
std::string wire_name() {
  wire::name_reader r;
  T x{};
  inspect(r, x);
  return r.name;
}

// Registers every remote type with cfg.add_message_type (call before the
// actor system starts).
void add_message_types(caf::actor_system_config& cfg);

} // namespace chorus::actors
