#pragma once
// Server configuration. Defaults live here in code; a `key = value` file
// (config/chorus.example.conf) and CHORUS_* environment variables override them,
// in that order. Every key `a.b_c` maps to the variable CHORUS_A_B_C.
#include "common/gcra.hpp"
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace chorus {

struct http_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 3000;
  std::string port_file;              // if set, the bound port is written here (tests bind port 0)
  int threads = 2;                    // Asio I/O threads
  std::size_t body_limit = 1 << 20;   // bytes
  std::size_t header_limit = 16 * 1024;
  int read_timeout_ms = 10'000;       // one request, head and body
  int idle_timeout_ms = 60'000;       // keep-alive wait between requests
  int request_timeout_ms = 10'000;    // a handler's actor round trip
  int shutdown_grace_ms = 10'000;     // in-flight requests get this long on shutdown
  int max_connections = 10'000;
};

struct pg_config {
  std::string dsn = "host=127.0.0.1 port=54329 user=postgres dbname=chorus";
  int pool_size = 4;                  // detached workers, one connection each
  int queue_limit = 1024;             // jobs waiting for a worker; beyond → overloaded
  int queue_timeout_ms = 2'000;       // a job that waited this long is failed, not run
  int statement_timeout_ms = 5'000;   // server-side statement_timeout per connection
  int connect_timeout_s = 3;
  int startup_timeout_ms = 30'000;    // how long startup waits for Postgres to migrate
  int reconnect_max_ms = 5'000;       // reconnect backoff cap
};

struct redis_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 63799;
  int queue_limit = 8192;
  int timeout_ms = 2'000;
  int max_pipeline = 512;
  int reconnect_max_ms = 5'000;
};

struct feed_config {
  int max_live = 100'000;             // live feed actors per node; beyond → least recently used passivated
  int idle_ms = 15 * 60 * 1000;       // a feed unused this long is passivated
  int cache_size = 800;               // entries per home timeline (memory and Redis)
  int fanout_max_followers = 10'000;  // authors with more followers are merged at read time
  int active_days = 30;               // only users active this recently receive pushes
  int ring_size = 400;                // recent statuses kept per large author
  int redis_ttl_s = 14 * 24 * 3600;   // an unread timeline mirror expires
  int flags_ttl_ms = 30'000;          // favourite/bookmark flags re-read after this
  int page_cache_ms = 2'000;
  bool remote_pages = true;           // reuse pages a user's owner (another node) rendered until it says they changed
  int snapshot_ttl_ms = 60'000;
  int hot_capacity = 100'000;         // statuses in the hot-status cache
  int hot_ttl_ms = 10'000;            // a cached status is re-read after this (counters, edits on other nodes)
};

// The streaming API (issue #14): WebSocket and SSE connections, per-user
// sequenced outboxes in Redis for resume. docs/api.md, "Streaming".
struct streaming_config {
  int send_queue = 256;               // frames queued per connection; beyond → queue dropped, one `refetch` event
  int outbox_size = 1'000;            // events kept per user in Redis for resume (XADD MAXLEN ~)
  int resume_window_ms = 300'000;     // a user's outbox stays live this long after the last subscriber leaves
  int heartbeat_ms = 15'000;          // SSE `:thump` comments and WebSocket pings
  int max_connections = 0;            // streaming connections per node (0: only http.max_connections applies)
  int send_buffer = 0;                // SO_SNDBUF of streaming sockets in bytes (0: the kernel's autotuning)
};

// The actor cluster (issue #13): every node publishes its actor system on
// cluster.port and joins every live node it finds in the `nodes` table (and the
// seeds), so N nodes form one full mesh. docs/cluster.md.
struct cluster_config {
  bool enabled = true;                // false: this node stays alone (no cluster port)
  std::string host = "127.0.0.1";     // address the cluster port binds
  std::uint16_t port = 0;             // 0 = pick a free port (advertised in `nodes`)
  std::string advertise;              // host other nodes connect to (default: cluster.host)
  std::string seeds;                  // host:port of nodes to join at start, comma-separated
  std::string secret;                 // shared secret every node proves in the join handshake
  std::string secret_file;            // … or read from this file (first line)
  std::string tls_cert;               // PEM certificate of this node (with tls_key and tls_ca: mutual TLS)
  std::string tls_key;                // PEM private key
  std::string tls_ca;                 // PEM CA file that signed every node's certificate
  int heartbeat_ms = 500;             // ping to each member (and the membership/discovery tick)
  int suspect_after_ms = 2'000;       // a member silent this long is suspect (still owns its users)
  int timeout_ms = 5'000;             // … and gone after this (its users move); a lost connection: at once
  int request_timeout_ms = 2'000;     // a request to another node (a routed read, an event) fails after this
};

struct trends_config {
  int status_half_life_s = 21'600;    // a status's trend score halves this often
  int tag_half_life_s = 43'200;
  int min_status_interactions = 3;    // favourites + reblogs + replies before a status trends
  int min_status_accounts = 2;        // distinct interacting accounts before a status trends
  int min_tag_accounts = 2;           // distinct accounts (today or yesterday) before a tag trends
  int max_statuses = 20'000;          // statuses tracked
  int max_tags = 5'000;
  int prune_batch = 1'000;            // removals per tick
  int tick_ms = 60'000;
  int seed_hours = 48;                // startup seed window (0: none)
  int seed_limit = 5'000;
};

// Content moderation (issue #15). Other helpers add the text pipeline's keys here.
struct moderation_config {
  std::string image_url;              // NSFW detector base URL (ml/nsfw-detector); empty: scripts/up starts the bundled one
};

struct jobs_config {
  std::string queues = "default:8,feeds:32,notifications:8,maintenance:2";  // worker pools: queue:concurrency, comma-separated
  int poll_ms = 5'000;                // safety-net poll of each pool (wake-ups come from NOTIFY)
  int lease_ms = 120'000;             // a claimed job is reclaimed this long after its claim
  int prefetch = 0;                   // jobs per pool claimed ahead of free slots (local queue; 0: none)
  std::string locked_queues;          // queues using locked claims (short jobs), comma-separated
  int backoff_base_ms = 30'000;       // retry delay ceiling after the first failure (doubles, full jitter)
  int backoff_cap_ms = 600'000;
};

// "name:n,name:n" → (name, n); throws config_error("jobs.queues") when malformed.
std::vector<std::pair<std::string, int>> parse_job_queues(const std::string& text);

// Rate limits (issue #6). A policy is "limit/seconds"; the defaults are Mastodon's.
struct ratelimit_config {
  bool enabled = true;
  bool exempt_loopback = true;        // loopback clients (after trusted proxies) are not limited (as Mastodon's safelist)
  int shards = 2;                     // bucket shard actors per node (measured: docs/benchmarks.md)
  int redis_timeout_ms = 500;         // a slower Redis decision is made by this node alone
  bool shared = true;                 // false: every node limits alone (no Redis)
  int lease_tokens = 1000;            // most tokens a hot bucket takes at once (also ≤ limit/10); 0: no leases
  int lease_ms = 250;                 // how long leased tokens may be used
  int shed_queue_depth = 100'000;     // runnable jobs at shedding pressure 1 (0: not a signal)
  int shed_oldest_job_s = 300;        // oldest runnable job's age at pressure 1 (0: not a signal)
  int shed_pg_wait_ms = 500;          // expected Postgres pool wait at pressure 1 (0: not a signal)
  std::string trusted_proxies;        // addresses/CIDRs whose X-Forwarded-For is believed, comma-separated
  std::string api = "300/300";        // authenticated API, per account
  std::string anon = "300/300";       // unauthenticated API, per IP (IPv6: per /64)
  std::string statuses = "300/10800"; // status creation, per account
  std::string media = "30/1800";      // media uploads, per account
  std::string follows = "400/86400";  // follows, per account
  std::string signup = "5/1800";      // sign-ups, per IP
  std::string login_ip = "25/300";    // sign-in attempts, per IP
  std::string login_account = "25/3600";  // sign-in attempts, per username
};

// "limit/seconds" → (limit, seconds); throws config_error(key) when malformed.
std::pair<std::int64_t, std::int64_t> parse_rate(const std::string& key, const std::string& text);
// The policies in this order: api, anon, statuses, media, follows, signup,
// login_ip, login_account (http::rl_policy); throws config_error when malformed.
std::vector<ratelimit::policy> rate_policies(const ratelimit_config& cfg);

struct config {
  http_config http;
  jobs_config jobs;
  ratelimit_config ratelimit;
  trends_config trends;
  feed_config feed;
  streaming_config streaming;
  cluster_config cluster;
  moderation_config moderation;
  pg_config pg;
  redis_config redis;
  int actor_threads = 0;              // 0 = max(2, hardware concurrency)
  int cpu_pool_size = 2;              // workers for password hashing and other CPU-heavy work
  int cpu_queue_limit = 256;
  int node_id = -1;                   // 0..62 in generated ids (63 is chorusctl's); -1 = derived from node_name
  int oauth_cache_ttl_ms = 30'000;    // bearer-token cache; bounds how long a revocation takes on other nodes
  int max_status_chars = 500;         // statuses.max_characters
  bool batch_status_writes = true;    // statuses.batch_writes: false = one transaction per post (bench baseline)
  std::string public_url;             // e.g. https://chorus.example; defaults to http://<http.host>:<port>
  std::string admin_token;            // bearer token for /api/v1/chorus/admin/* from non-loopback peers
  bool metrics_public = false;        // serve /metrics to any peer, not only loopback/admin
  std::string log_level = "info";
  std::string node_name;              // defaults to the host name
  int node_heartbeat_ms = 2'000;      // how often a node writes its heartbeat (nodes, node_incarnations)
  int node_dead_after_ms = 10'000;    // a node silent this long is dead: its job leases are released
};

class config_error : public std::runtime_error {
public:
  config_error(std::string key, const std::string& what)
    : std::runtime_error(what), key_(std::move(key)) {}
  const std::string& key() const noexcept { return key_; }

private:
  std::string key_;
};

struct config_key_info {
  std::string key;
  std::string env;
  std::string description;
  std::string default_value;
};

// All known keys with their env names and defaults (for docs and `chorusctl config`).
std::vector<config_key_info> config_keys();

// Applies one key. Throws config_error naming the key on an unknown key or bad value.
void set_config_value(config& cfg, const std::string& key, const std::string& value);

// Loads defaults, then `file` (if non-empty), then the environment `env`
// (name → value; pass environ_map() for the process environment).
// Validates the result; throws config_error naming the offending key.
config load_config(const std::string& file, const std::map<std::string, std::string>& env);

std::map<std::string, std::string> environ_map();

// The DSN with any password replaced by ***.
std::string redact_dsn(const std::string& dsn);

// Key/value view of a config (admin token and DSN password redacted).
std::map<std::string, std::string> describe(const config& cfg);

} // namespace chorus
