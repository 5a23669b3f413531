#include "actors/system/runtime.hpp"

#include "actors/accounts/oauth.hpp"
#include "actors/cluster/cluster.hpp"
#include "actors/cluster/openssl_errors.hpp"
#include "actors/conversations/conversations.hpp"
#include "actors/accounts/token_cache.hpp"
#include "actors/accounts/relationships.hpp"
#include "actors/db/pg_pool.hpp"
#include "actors/feed/feeds.hpp"
#include "actors/jobs/maintenance.hpp"
#include "actors/jobs/worker_pool.hpp"
#include "actors/notifications/notifications.hpp"
#include "actors/feed/status_cache.hpp"
#include "actors/protocol/wire.hpp"
#include "actors/ratelimit/limiter.hpp"
#include "actors/ratelimit/shedder.hpp"
#include "actors/trends/trends.hpp"
#include "actors/workers/blocking_pool.hpp"
#include "storage/pg/jobs.hpp"
#include "actors/redis/redis_actor.hpp"
#include "actors/statuses/statuses.hpp"
#include "actors/streams/streams.hpp"
#include "actors/system/lifecycle.hpp"
#include "actors/system/node.hpp"
#include "common/config.hpp"
#include "common/crypto.hpp"
#include "common/log.hpp"
#include "storage/pg/conversations.hpp"
#include "storage/pg/feeds.hpp"
#include "storage/pg/notifications.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <nlohmann/json.hpp>
#include <caf/send.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include "common/clock.hpp"
#include <thread>

namespace chorus::actors {
namespace {

// "a, b,c" → {"a", "b", "c"} (empty parts dropped).
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    auto b = cur.find_first_not_of(" \t");
    auto e = cur.find_last_not_of(" \t");
    if (b != std::string::npos)
      out.push_back(cur.substr(b, e - b + 1));
    cur.clear();
  };
  for (char c : text)
    if (c == ',')
      flush();
    else
      cur.push_back(c);
  flush();
  return out;
}

trends_options trends_from(const config& cfg) {
  trends_options o;
  auto& t = cfg.trends;
  o.scoring.status_half_life_s = t.status_half_life_s;
  o.scoring.tag_half_life_s = t.tag_half_life_s;
  o.scoring.min_status_interactions = t.min_status_interactions;
  o.scoring.min_status_accounts = t.min_status_accounts;
  o.scoring.min_tag_accounts = t.min_tag_accounts;
  o.scoring.max_statuses = static_cast<std::size_t>(t.max_statuses);
  o.scoring.max_tags = static_cast<std::size_t>(t.max_tags);
  o.scoring.prune_batch = static_cast<std::size_t>(t.prune_batch);
  o.tick = std::chrono::milliseconds(t.tick_ms);
  o.seed_hours = t.seed_hours;
  o.seed_limit = t.seed_limit;
  return o;
}

} // namespace

runtime::runtime(const config& cfg, metrics::registry& metrics)
  : cfg_(cfg), incarnation_(storage::pg::new_incarnation()), registry_(cfg.node_name),
    ids_(static_cast<std::uint8_t>(cfg.node_id >= 0 ? cfg.node_id : node_id_from_name(cfg.node_name))), sys_cfg_(std::make_unique<caf::actor_system_config>()) {
  auto threads = cfg.actor_threads > 0 ? cfg.actor_threads
                                       : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  sys_cfg_->set("scheduler.max-threads", static_cast<size_t>(threads));
  add_message_types(*sys_cfg_);  // the remote part of the protocol (actors/protocol/wire.hpp)
  auto& cc = cfg.cluster;
  bool tls = cc.enabled && !cc.tls_cert.empty();
  if (cc.enabled) {
    sys_cfg_->load<caf::io::middleman>();
    if (tls) {  // mutual TLS: a peer without a certificate from cluster.tls_ca is refused in the handshake
      sys_cfg_->openssl_certificate = cc.tls_cert;
      sys_cfg_->openssl_key = cc.tls_key;
      sys_cfg_->openssl_cafile = cc.tls_ca;
      sys_cfg_->load<caf::openssl::manager>();
    }
  }
  sys_ = std::make_unique<caf::actor_system>(*sys_cfg_);
  life_ = std::make_unique<lifecycle>(*sys_);
  registry_.export_metrics(metrics);

  pg_pool_options po;
  po.connection.dsn = cfg.pg.dsn;
  po.connection.connect_timeout_s = cfg.pg.connect_timeout_s;
  po.connection.statement_timeout_ms = cfg.pg.statement_timeout_ms;
  po.connection.application_name = "chorusd";
  po.size = cfg.pg.pool_size;
  po.queue_limit = cfg.pg.queue_limit;
  po.queue_timeout = std::chrono::milliseconds(cfg.pg.queue_timeout_ms);
  po.job_timeout = std::chrono::milliseconds(cfg.pg.statement_timeout_ms + 1000);
  po.reconnect.cap = std::chrono::milliseconds(cfg.pg.reconnect_max_ms);

  redis_options ro;
  ro.host = cfg.redis.host;
  ro.port = cfg.redis.port;
  ro.timeout = std::chrono::milliseconds(cfg.redis.timeout_ms);
  ro.queue_limit = cfg.redis.queue_limit;
  ro.max_pipeline = cfg.redis.max_pipeline;
  ro.reconnect.cap = std::chrono::milliseconds(cfg.redis.reconnect_max_ms);

  svc_.system = sys_.get();
  svc_.cfg = &cfg_;
  svc_.registry = &registry_;
  svc_.metrics = &metrics;
  svc_.pg = life_->started("pg_pool", spawn_pg_pool(*sys_, po, registry_, &metrics));
  svc_.redis = life_->started("redis", spawn_redis(*sys_, ro, registry_, &metrics));
  svc_.cpu = life_->started("cpu_pool", spawn_blocking_pool(*sys_, {"cpu", cfg.cpu_pool_size, cfg.cpu_queue_limit}, registry_));
  live_feeds_ = std::make_shared<std::atomic<std::int64_t>>(0);
  svc_.tokens = std::make_shared<token_cache>(100'000, std::chrono::milliseconds(std::max(cfg.oauth_cache_ttl_ms, 1000)));
  {
    cluster_options co;
    co.enabled = cc.enabled;
    co.self.name = cfg.node_name;
    co.self.incarnation = incarnation_;
    co.self.protocol = protocol_version;
    co.self.started_ms = wall_now_ms();
    co.secret = cc.secret;
    co.transport = tls ? "tls" : "tcp";
    for (auto& part : split_list(cc.seeds))
      if (auto hp = parse_host_port(part))
        co.seeds.push_back(*hp);
      else
        log::write(log::level::warn, "cluster: seed ignored (expected host:port)", {{"seed", part}});
    if (cc.enabled)
      co.connector = tls ? caf::actor_cast<caf::actor>(sys_->openssl_manager().actor_handle())
                         : caf::actor_cast<caf::actor>(sys_->middleman().actor_handle());
    co.heartbeat = std::chrono::milliseconds(cc.heartbeat_ms);
    co.request_timeout = std::chrono::milliseconds(cc.request_timeout_ms);
    co.discover_every = std::chrono::milliseconds(std::max(cc.heartbeat_ms, 1000));
    co.node_fresh = std::chrono::milliseconds(cfg.node_dead_after_ms);
    co.membership.suspect_after = std::chrono::milliseconds(cc.suspect_after_ms);
    co.membership.timeout = std::chrono::milliseconds(cc.timeout_ms);
    co.tokens = svc_.tokens;
    co.live_feeds = live_feeds_;
    svc_.cluster = life_->started("cluster", spawn_cluster(*sys_, co, svc_.pg, registry_, &metrics));
  }
  oauth_options oo;
  oo.cache_ttl = std::chrono::milliseconds(cfg.oauth_cache_ttl_ms);
  oo.dummy_hash = crypto::hash_password(crypto::random_token(16));  // composition root thread, not an actor
  oo.cache = svc_.tokens;
  oo.cluster = svc_.cluster;
  svc_.oauth = life_->started("oauth", spawn_oauth(*sys_, oo, svc_.pg, svc_.cpu, ids_, registry_));
  accounts_options ao;
  ao.cluster = svc_.cluster;
  svc_.accounts = life_->started("accounts", spawn_accounts(*sys_, ao, svc_.pg, svc_.cpu, ids_, registry_));
  status_cache_options sco;
  sco.capacity = static_cast<std::size_t>(cfg.feed.hot_capacity);
  sco.ttl = std::chrono::milliseconds(cfg.feed.hot_ttl_ms);
  svc_.status_cache = life_->started("status_cache", spawn_status_cache(*sys_, sco, svc_.pg, registry_, &metrics));
  feeds_options fo;
  fo.max_live = static_cast<std::size_t>(cfg.feed.max_live);
  fo.idle = std::chrono::milliseconds(cfg.feed.idle_ms);
  fo.cache_size = static_cast<std::size_t>(cfg.feed.cache_size);
  fo.fanout_max_followers = cfg.feed.fanout_max_followers;
  fo.active_days = cfg.feed.active_days;
  fo.ring_size = static_cast<std::size_t>(cfg.feed.ring_size);
  fo.redis_ttl_s = cfg.feed.redis_ttl_s;
  fo.flags_ttl = std::chrono::milliseconds(cfg.feed.flags_ttl_ms);
  fo.page_cache = std::chrono::milliseconds(cfg.feed.page_cache_ms);
  fo.remote_pages = cfg.feed.remote_pages;
  fo.snapshot_ttl = std::chrono::milliseconds(cfg.feed.snapshot_ttl_ms);
  fo.tick = std::chrono::milliseconds(std::clamp(cfg.feed.idle_ms / 4, 10, 1000));
  fo.cluster = svc_.cluster;
  fo.live_count = live_feeds_;
  fo.remote_timeout = std::chrono::milliseconds(cc.request_timeout_ms);
  if (cfg.ratelimit.enabled) {
    shed_options sh;
    sh.queue_depth = cfg.ratelimit.shed_queue_depth;
    sh.oldest_job_s = cfg.ratelimit.shed_oldest_job_s;
    sh.pg_wait_ms = cfg.ratelimit.shed_pg_wait_ms;
    svc_.shed = std::make_shared<shed_signal>();
    life_->started("shedder", spawn_shedder(*sys_, sh, svc_.pg, svc_.shed, registry_, &metrics));
  }
  if (cfg.ratelimit.enabled) {
    limiter_options lo;
    lo.policies = rate_policies(cfg.ratelimit);
    lo.shards = static_cast<std::size_t>(cfg.ratelimit.shards);
    lo.timeout = std::chrono::milliseconds(cfg.ratelimit.redis_timeout_ms);
    lo.shared = cfg.ratelimit.shared;
    lo.lease_tokens = cfg.ratelimit.lease_tokens;
    lo.lease = std::chrono::milliseconds(cfg.ratelimit.lease_ms);
    lo.redis_host = cfg.redis.host;
    lo.redis_port = cfg.redis.port;
    lo.reconnect.cap = std::chrono::milliseconds(cfg.redis.reconnect_max_ms);
    svc_.limits = spawn_limiter(*sys_, lo, registry_, &metrics);
    life_->on_stop("limiter", [l = svc_.limits] { l->stop(); });
  }
  {
    streams_options sto;
    sto.outbox_size = cfg.streaming.outbox_size;
    sto.resume_window = std::chrono::milliseconds(cfg.streaming.resume_window_ms);
    sto.remote_timeout = std::chrono::milliseconds(cc.request_timeout_ms);
    sto.fanout_max_followers = cfg.feed.fanout_max_followers;
    sto.max_following = fo.max_following;
    auto streams = life_->started("streams", spawn_streams(*sys_, sto, svc_.pg, svc_.redis, svc_.status_cache,
                                                           registry_, &metrics));
    svc_.streams = streams;  // publishers' view of it
    fo.streams = streams;
  }
  svc_.feeds = life_->started("feeds", spawn_feeds(*sys_, fo, svc_.pg, svc_.redis, svc_.status_cache, registry_, &metrics));
  svc_.trends = life_->started("trends", spawn_trends(*sys_, trends_from(cfg), svc_.pg, svc_.status_cache, registry_));
  conversations_options cvo;
  cvo.streams = svc_.streams;  // spawned above: conversation events reach the direct streams
  svc_.conversations = life_->started("conversations", spawn_conversations(*sys_, cvo, svc_.pg, ids_, registry_));
  statuses_options so;
  so.batching = cfg.batch_status_writes;
  svc_.statuses = life_->started("statuses", spawn_statuses(*sys_, so, svc_.pg, ids_, registry_, {svc_.feeds, svc_.trends}));
  svc_.relationships = life_->started(
    "relationships", spawn_relationships(*sys_, svc_.pg, ids_, registry_, std::chrono::seconds(5), svc_.feeds));
  {
    // After the streams actor (when there is one): new notifications are published to it.
    notifications_options no;
    no.timeout = std::chrono::milliseconds(std::max(100, cfg.http.request_timeout_ms - 500));
    no.streams = svc_.streams;
    no.cache = svc_.status_cache;
    svc_.notifications = life_->started("notifications", spawn_notifications(*sys_, no, svc_.pg, registry_));
  }
  start_jobs();
}

// Background jobs: a worker pool per configured queue, the NOTIFY listener that
// wakes them, the scheduler of recurring jobs and the built-in handlers.
void runtime::start_jobs() {
  svc_.jobs = life_->started("jobs_admin", spawn_jobs_admin(*sys_, svc_.pg, registry_));
  auto maintenance = life_->started("maintenance", spawn_maintenance(*sys_, svc_.pg, registry_));
  std::map<std::string, job_kind> kinds{{"maintenance.prune_nodes", {maintenance, std::chrono::seconds(60)}},
                                        {"maintenance.prune_cron_runs", {maintenance, std::chrono::seconds(60)}},
                                        {"chorus.noop", {maintenance, std::chrono::seconds(5)}},
                                        {storage::pg::fanout_kind, {svc_.feeds, std::chrono::seconds(60)}},
                                        {storage::pg::revoke_kind, {svc_.feeds, std::chrono::seconds(60)}},
                                        {storage::pg::notify_kind, {svc_.notifications, std::chrono::seconds(60)}},

                                        {storage::pg::conversation_add_kind, {svc_.conversations, std::chrono::seconds(30)}},
                                        {storage::pg::conversation_remove_kind, {svc_.conversations, std::chrono::seconds(30)}}};
  auto queues = parse_job_queues(cfg_.jobs.queues);
  std::map<std::string, job_pool_actor> pools;
  for (auto& [queue, concurrency] : queues) {
    worker_pool_options wo;
    wo.queue = queue;
    wo.concurrency = static_cast<std::size_t>(concurrency);
    wo.prefetch = static_cast<std::size_t>(cfg_.jobs.prefetch);
    wo.locked = ("," + cfg_.jobs.locked_queues + ",").find("," + queue + ",") != std::string::npos;
    wo.dsn = cfg_.pg.dsn;
    wo.poll = std::chrono::milliseconds(cfg_.jobs.poll_ms);
    wo.lease = std::chrono::milliseconds(cfg_.jobs.lease_ms);
    wo.backoff = {std::chrono::milliseconds(cfg_.jobs.backoff_base_ms), std::chrono::milliseconds(cfg_.jobs.backoff_cap_ms)};
    wo.owner = storage::pg::lease_owner(incarnation_, registry_.node() + "/" + queue);
    wo.dead_after = std::chrono::milliseconds(cfg_.node_dead_after_ms);
    wo.kinds = kinds;
    pools[queue] = life_->started("jobs." + queue, spawn_worker_pool(*sys_, wo, svc_.pg, registry_, svc_.metrics));
  }
  if (!pools.count(storage::pg::feed_queue))
    log::write(log::level::warn, "this node runs no pool for the feeds queue: another node must, or home timelines "
                                 "stop receiving posts", {{"queues", cfg_.jobs.queues}});
  if (!pools.count(storage::pg::notification_queue))
    log::write(log::level::warn, "this node runs no pool for the notifications queue: another node must, or no "
                                 "notifications are created", {{"queues", cfg_.jobs.queues}});
  life_->started("jobs.listener", spawn_job_listener(*sys_, cfg_.pg.dsn, pools, registry_));
  auto maintenance_queue = pools.count("maintenance") ? std::string("maintenance") : queues.front().first;
  auto recurring = [&](std::string name, std::chrono::milliseconds period, std::string kind) {
    schedule sc;
    sc.name = std::move(name);
    sc.period = period;
    sc.job.queue = maintenance_queue;
    sc.job.kind = std::move(kind);
    sc.job.max_attempts = 5;
    return sc;
  };
  scheduler_options so;
  so.schedules = {recurring("maintenance.prune_nodes", std::chrono::hours(1), "maintenance.prune_nodes"),
                  recurring("maintenance.prune_cron_runs", std::chrono::hours(24), "maintenance.prune_cron_runs")};
  life_->started("jobs.scheduler", spawn_job_scheduler(*sys_, so, svc_.pg, registry_));
}

void runtime::start_node(const std::string& http_address, const std::string& version) {
  node_options no;
  no.name = cfg_.node_name;
  no.http_address = http_address;
  no.version = version;
  no.incarnation = incarnation_;
  no.heartbeat = std::chrono::milliseconds(cfg_.node_heartbeat_ms);
  // Answer before the HTTP bridge gives up, so callers see the real error.
  no.query_timeout = std::chrono::milliseconds(std::max(100, cfg_.http.request_timeout_ms - 500));
  no.cluster_address = start_cluster(http_address, version);
  svc_.node = life_->started("node", spawn_node(*sys_, no, svc_.pg, svc_.redis, registry_));
}

// Publishes the cluster actor on cluster.port (over mutual TLS when configured)
// and lets it start joining; returns the address advertised in `nodes` ("" when
// clustering is off). Throws when the port cannot be opened.
std::string runtime::start_cluster(const std::string& http_address, const std::string& version) {
  auto& cc = cfg_.cluster;
  std::string advertised;
  if (cc.enabled) {
    auto tls = !cc.tls_cert.empty();
    if (tls && !openssl_error_isolation())
      log::write(log::level::warn, "cluster: OpenSSL calls are not wrapped: one refused TLS handshake can drop the "
                                   "other cluster connections (actors/cluster/openssl_errors.cpp)");
    auto bound = tls ? caf::openssl::publish(svc_.cluster, cc.port, cc.host.c_str(), false)
                     : sys_->middleman().publish(svc_.cluster, cc.port, cc.host.c_str(), false);
    if (!bound)
      throw std::runtime_error("cannot open the cluster port " + cc.host + ":" + std::to_string(cc.port) + ": " +
                               sys_->render(bound.error()));
    auto host = cc.advertise.empty() ? cc.host : cc.advertise;
    advertised = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(*bound);
    log::write(cc.secret.empty() && !tls ? log::level::warn : log::level::info, "cluster port open",
               {{"address", advertised}, {"transport", tls ? "mutual TLS" : "tcp"},
                {"secret", cc.secret.empty() ? "none (any node that reaches the port can join)" : "set"}});
  }
  cluster_start st;
  st.feeds = caf::actor_cast<caf::strong_actor_ptr>(svc_.feeds);
  st.cache = caf::actor_cast<caf::strong_actor_ptr>(svc_.status_cache);
  st.streams = caf::actor_cast<caf::strong_actor_ptr>(svc_.streams);
  st.address = advertised;
  st.http_address = http_address;
  st.version = version;
  caf::anon_send(svc_.cluster, std::move(st));
  return advertised;
}

void runtime::shutdown() {
  if (stopped_)
    return;
  stopped_ = true;
  // Every actor was registered as it started: stop them newest first, each
  // awaited before the next (the node actor first, the Postgres pool last).
  auto order = life_->stop_all();
  log::write(log::level::debug, "actors stopped", {{"steps", order.size()}});
  svc_ = services{};
  sys_->await_all_actors_done();
}

runtime::~runtime() {
  shutdown();
  sys_.reset();
}

} // namespace chorus::actors
