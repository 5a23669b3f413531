#include "common/config.hpp"

#include "common/netaddr.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <arpa/inet.h>
#include <unistd.h>

extern char** environ;

namespace chorus {
namespace {

struct option {
  const char* key;
  const char* description;
  std::function<void(config&, const std::string&)> set;
  std::function<std::string(const config&)> get;
};

template <class Int>
Int parse_int(const std::string& key, const std::string& text, long long lo, long long hi) {
  long long v = 0;
  auto first = text.data();
  auto last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc() || ptr != last || text.empty())
    throw config_error(key, "config key '" + key + "': expected an integer, got '" + text + "'");
  if (v < lo || v > hi)
    throw config_error(key, "config key '" + key + "': " + text + " is out of range [" +
                              std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<Int>(v);
}

bool parse_bool(const std::string& key, const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "1" || t == "true" || t == "yes" || t == "on") return true;
  if (t == "0" || t == "false" || t == "no" || t == "off") return false;
  throw config_error(key, "config key '" + key + "': expected a boolean, got '" + text + "'");
}

#define CHORUS_INT(KEY, FIELD, LO, HI, DESC)                                                       \
  option{KEY, DESC,                                                                                \
         [](config& c, const std::string& v) {                                                     \
           c.FIELD = parse_int<decltype(c.FIELD)>(KEY, v, LO, HI);                                 \
         },                                                                                        \
         [](const config& c) { return std::to_string(c.FIELD); }}
#define CHORUS_STR(KEY, FIELD, DESC)                                                               \
  option{KEY, DESC, [](config& c, const std::string& v) { c.FIELD = v; },                          \
         [](const config& c) { return c.FIELD; }}
#define CHORUS_BOOL(KEY, FIELD, DESC)                                                              \
  option{KEY, DESC, [](config& c, const std::string& v) { c.FIELD = parse_bool(KEY, v); },        \
         [](const config& c) { return std::string(c.FIELD ? "true" : "false"); }}

const std::vector<option>& options() {
  static const std::vector<option> opts = {
    CHORUS_STR("http.host", http.host, "address the HTTP listener binds"),
    CHORUS_INT("http.port", http.port, 0, 65535, "HTTP port (0 = pick a free port)"),
    CHORUS_STR("http.port_file", http.port_file, "write the bound HTTP port to this file"),
    CHORUS_INT("http.threads", http.threads, 1, 256, "Asio I/O threads"),
    CHORUS_INT("http.body_limit", http.body_limit, 1024, 1LL << 31, "maximum request body in bytes (413 beyond)"),
    CHORUS_INT("http.header_limit", http.header_limit, 1024, 1 << 20, "maximum request head in bytes (431 beyond)"),
    CHORUS_INT("http.read_timeout_ms", http.read_timeout_ms, 100, 3'600'000, "deadline to read one request"),
    CHORUS_INT("http.idle_timeout_ms", http.idle_timeout_ms, 100, 3'600'000, "keep-alive idle timeout"),
    CHORUS_INT("http.request_timeout_ms", http.request_timeout_ms, 10, 600'000, "deadline for a handler's actor round trip"),
    CHORUS_INT("http.shutdown_grace_ms", http.shutdown_grace_ms, 0, 600'000, "time in-flight requests get on shutdown"),
    CHORUS_INT("http.max_connections", http.max_connections, 1, 1'000'000, "open connections beyond this are refused"),
    CHORUS_STR("pg.dsn", pg.dsn, "libpq connection string"),
    CHORUS_INT("pg.pool_size", pg.pool_size, 1, 512, "Postgres connections (one detached worker each)"),
    CHORUS_INT("pg.queue_limit", pg.queue_limit, 1, 1'000'000, "jobs waiting for a connection before 503"),
    CHORUS_INT("pg.queue_timeout_ms", pg.queue_timeout_ms, 1, 600'000, "a job queued longer than this fails unrun"),
    CHORUS_INT("pg.statement_timeout_ms", pg.statement_timeout_ms, 1, 3'600'000, "server-side statement_timeout"),
    CHORUS_INT("pg.connect_timeout_s", pg.connect_timeout_s, 1, 600, "libpq connect_timeout"),
    CHORUS_INT("pg.startup_timeout_ms", pg.startup_timeout_ms, 0, 3'600'000, "startup waits this long for Postgres"),
    CHORUS_INT("pg.reconnect_max_ms", pg.reconnect_max_ms, 10, 600'000, "cap of a pool worker's reconnect backoff (full jitter, from 100 ms)"),
    CHORUS_STR("redis.host", redis.host, "Redis host"),
    CHORUS_INT("redis.port", redis.port, 1, 65535, "Redis port"),
    CHORUS_INT("redis.queue_limit", redis.queue_limit, 1, 10'000'000, "Redis commands waiting before 503"),
    CHORUS_INT("redis.timeout_ms", redis.timeout_ms, 1, 600'000, "Redis connect and command timeout"),
    CHORUS_INT("redis.max_pipeline", redis.max_pipeline, 1, 100'000, "commands sent in one pipeline at most"),
    CHORUS_INT("redis.reconnect_max_ms", redis.reconnect_max_ms, 10, 600'000, "cap of the Redis reconnect backoff (full jitter, from 100 ms; rate-limit shards from 1 s)"),
    CHORUS_INT("actors.threads", actor_threads, 0, 256, "CAF scheduler threads (0 = max(2, cores))"),
    CHORUS_INT("cpu.pool_size", cpu_pool_size, 1, 256, "workers for password hashing and other CPU-heavy work"),
    CHORUS_INT("cpu.queue_limit", cpu_queue_limit, 1, 1'000'000, "CPU jobs waiting before 503"),
    CHORUS_INT("node.heartbeat_ms", node_heartbeat_ms, 100, 600'000, "how often this node writes its heartbeat row"),
    CHORUS_INT("node.dead_after_ms", node_dead_after_ms, 1'000, 86'400'000, "a node whose heartbeat is this old is dead: the job leases it held are released at once (keep it several heartbeats)"),
    CHORUS_BOOL("cluster.enabled", cluster.enabled, "join the actor cluster (false: this node stays alone and opens no cluster port)"),
    CHORUS_STR("cluster.host", cluster.host, "address the cluster port binds"),
    CHORUS_INT("cluster.port", cluster.port, 0, 65535, "cluster port other nodes connect to (0 = pick a free port; it is advertised in the nodes table)"),
    CHORUS_STR("cluster.advertise", cluster.advertise, "host other nodes use to reach this one (default: cluster.host)"),
    CHORUS_STR("cluster.seeds", cluster.seeds, "host:port of nodes to join at start, comma-separated (others are found in the nodes table)"),
    CHORUS_STR("cluster.secret", cluster.secret, "shared secret every node proves when it joins (HMAC challenge); nodes without it are refused"),
    CHORUS_STR("cluster.secret_file", cluster.secret_file, "read cluster.secret from this file (first line)"),
    CHORUS_STR("cluster.tls_cert", cluster.tls_cert, "PEM certificate of this node; with cluster.tls_key and cluster.tls_ca the cluster speaks mutual TLS"),
    CHORUS_STR("cluster.tls_key", cluster.tls_key, "PEM private key of cluster.tls_cert"),
    CHORUS_STR("cluster.tls_ca", cluster.tls_ca, "PEM CA certificate(s) a peer's certificate must be signed by"),
    CHORUS_INT("cluster.heartbeat_ms", cluster.heartbeat_ms, 10, 60'000, "ping to each member, and the membership and discovery tick"),
    CHORUS_INT("cluster.suspect_after_ms", cluster.suspect_after_ms, 20, 600'000, "a member that answered no ping this long is suspect (it keeps its users)"),
    CHORUS_INT("cluster.timeout_ms", cluster.timeout_ms, 50, 600'000, "a member that answered no ping this long is gone and its users move (a lost connection counts at once)"),
    CHORUS_INT("cluster.request_timeout_ms", cluster.request_timeout_ms, 10, 600'000, "a request to another node (a routed read or event) fails after this"),
    CHORUS_INT("node.id", node_id, -1, 62, "this node's id in generated ids (0..62, unique per node; -1 = derived from node.name)"),
    CHORUS_INT("oauth.cache_ttl_ms", oauth_cache_ttl_ms, 0, 3'600'000, "how long a node caches a bearer token"),
    CHORUS_INT("statuses.max_characters", max_status_chars, 1, 100'000, "longest status text (URLs count as 23)"),
    CHORUS_BOOL("statuses.batch_writes", batch_status_writes, "group concurrent posts into one transaction (false: one per post, for comparison)"),
    CHORUS_STR("jobs.queues", jobs.queues, "job worker pools on this node: queue:concurrency, comma-separated"),
    CHORUS_INT("jobs.poll_ms", jobs.poll_ms, 10, 3'600'000, "safety-net poll of each job pool (wake-ups come from NOTIFY)"),
    CHORUS_INT("jobs.lease_ms", jobs.lease_ms, 100, 86'400'000, "a claimed job is reclaimed this long after its claim"),
    CHORUS_BOOL("ratelimit.enabled", ratelimit.enabled, "rate limits on the API (false: none)"),
    CHORUS_BOOL("ratelimit.exempt_loopback", ratelimit.exempt_loopback, "requests from loopback clients (after trusted proxies) are not limited"),
    CHORUS_INT("ratelimit.shards", ratelimit.shards, 1, 256, "rate-limit bucket shard actors on this node"),
    CHORUS_INT("ratelimit.redis_timeout_ms", ratelimit.redis_timeout_ms, 10, 60'000, "a Redis rate-limit decision slower than this is made by the node alone"),
    CHORUS_BOOL("ratelimit.shared", ratelimit.shared, "budgets shared by all nodes through Redis (false: each node limits alone)"),
    CHORUS_INT("ratelimit.lease_tokens", ratelimit.lease_tokens, 0, 100'000, "most tokens a hot bucket takes from Redis at once, spent on the HTTP threads (also at most a tenth of the limit; 0: none)"),
    CHORUS_INT("ratelimit.lease_ms", ratelimit.lease_ms, 10, 60'000, "how long leased rate-limit tokens may be used before the rest is given back"),
    CHORUS_INT("ratelimit.shed_queue_depth", ratelimit.shed_queue_depth, 0, 1'000'000'000, "runnable background jobs at which anonymous writes are shed (twice: all writes; four times: reads too; 0: not a signal)"),
    CHORUS_INT("ratelimit.shed_oldest_job_s", ratelimit.shed_oldest_job_s, 0, 86'400, "age of the oldest runnable job at which anonymous writes are shed (scaled as shed_queue_depth; 0: not a signal)"),
    CHORUS_INT("ratelimit.shed_pg_wait_ms", ratelimit.shed_pg_wait_ms, 0, 600'000, "expected wait for a Postgres connection at which anonymous writes are shed (scaled as shed_queue_depth; 0: not a signal)"),
    CHORUS_STR("ratelimit.trusted_proxies", ratelimit.trusted_proxies, "proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For names the client"),
    CHORUS_STR("ratelimit.api", ratelimit.api, "authenticated API requests per account: limit/seconds"),
    CHORUS_STR("ratelimit.anon", ratelimit.anon, "unauthenticated API requests per IP (IPv6 per /64): limit/seconds"),
    CHORUS_STR("ratelimit.statuses", ratelimit.statuses, "statuses created per account: limit/seconds"),
    CHORUS_STR("ratelimit.media", ratelimit.media, "media uploads per account: limit/seconds"),
    CHORUS_STR("ratelimit.follows", ratelimit.follows, "follows per account: limit/seconds"),
    CHORUS_STR("ratelimit.signup", ratelimit.signup, "sign-ups per IP: limit/seconds"),
    CHORUS_STR("ratelimit.login_ip", ratelimit.login_ip, "sign-in attempts per IP: limit/seconds"),
    CHORUS_STR("ratelimit.login_account", ratelimit.login_account, "sign-in attempts per username: limit/seconds"),
    CHORUS_STR("jobs.locked_queues", jobs.locked_queues, "queues whose pools claim with row locks held in an open transaction instead of leases (short jobs; comma-separated)"),
    CHORUS_INT("jobs.prefetch", jobs.prefetch, 0, 100'000, "jobs each pool claims ahead of its free slots, held in a local queue so that one claim brings many (0: none)"),
    CHORUS_INT("jobs.backoff_base_ms", jobs.backoff_base_ms, 1, 86'400'000, "retry delay ceiling after the first failure (doubles per attempt, full jitter)"),
    CHORUS_INT("jobs.backoff_cap_ms", jobs.backoff_cap_ms, 1, 86'400'000, "largest retry delay ceiling"),
    CHORUS_STR("moderation.image_url", moderation.image_url, "base URL of the NSFW image detector (ml/nsfw-detector, POST /v1/classify); scripts/up starts the bundled one when unset"),
    CHORUS_INT("feed.max_live", feed.max_live, 1, 100'000'000, "live feed actors per node (LRU passivation beyond)"),
    CHORUS_INT("feed.idle_ms", feed.idle_ms, 1, 86'400'000, "passivate a feed unused this long"),
    CHORUS_INT("feed.cache_size", feed.cache_size, 20, 100'000, "home timeline entries kept per user (memory and Redis)"),
    CHORUS_INT("feed.fanout_max_followers", feed.fanout_max_followers, 0, 1'000'000'000, "authors with more followers are merged at read time instead of pushed"),
    CHORUS_INT("feed.active_days", feed.active_days, 1, 3650, "only users active within this many days receive pushes"),
    CHORUS_INT("feed.ring_size", feed.ring_size, 20, 100'000, "recent statuses kept per large author for read-time merging"),
    CHORUS_INT("feed.redis_ttl_s", feed.redis_ttl_s, 60, 365 * 86'400, "expiry of an unread timeline mirror in Redis"),
    CHORUS_INT("feed.flags_ttl_ms", feed.flags_ttl_ms, 0, 86'400'000, "favourite/reblog/bookmark flags cached per feed this long"),
    CHORUS_INT("feed.page_cache_ms", feed.page_cache_ms, 0, 60'000, "a rendered home page is reused this long while its feed is unchanged (0: off)"),
    CHORUS_BOOL("feed.remote_pages", feed.remote_pages, "a node keeps the pages the owner of a user (another node) rendered, until that feed changes or feed.page_cache_ms passes (false: every read of a user another node owns is a round trip to it)"),
    CHORUS_INT("feed.snapshot_ttl_ms", feed.snapshot_ttl_ms, 0, 86'400'000, "a live feed re-reads its follows, blocks and mutes this often (0: never)"),
    CHORUS_INT("streaming.send_queue", streaming.send_queue, 1, 1'000'000, "frames queued per streaming connection; a client that falls further behind loses the queue and gets one `refetch` event"),
    CHORUS_INT("streaming.outbox_size", streaming.outbox_size, 10, 10'000'000, "events kept per user in Redis for resuming a stream (Last-Event-ID / since)"),
    CHORUS_INT("streaming.resume_window_ms", streaming.resume_window_ms, 0, 86'400'000, "a user's outbox keeps sequencing events this long after their last stream closed"),
    CHORUS_INT("streaming.heartbeat_ms", streaming.heartbeat_ms, 100, 3'600'000, "SSE heartbeat comments and WebSocket pings this often"),
    CHORUS_INT("streaming.max_connections", streaming.max_connections, 0, 100'000'000, "streaming connections per node (0: http.max_connections only)"),
    CHORUS_INT("streaming.send_buffer", streaming.send_buffer, 0, 64 * 1024 * 1024, "kernel send buffer of each streaming socket in bytes, bounding what a slow client holds beyond its send queue (0: the kernel's autotuning)"),
    CHORUS_INT("feed.hot_capacity", feed.hot_capacity, 100, 100'000'000, "statuses kept in the hot-status cache"),
    CHORUS_INT("feed.hot_ttl_ms", feed.hot_ttl_ms, 0, 3'600'000, "a hot status is re-read after this"),
    CHORUS_INT("trends.status_half_life_s", trends.status_half_life_s, 1, 30 * 86'400, "a status's trend score halves this often"),
    CHORUS_INT("trends.tag_half_life_s", trends.tag_half_life_s, 1, 30 * 86'400, "a tag's trend score halves this often"),
    CHORUS_INT("trends.min_status_interactions", trends.min_status_interactions, 0, 1'000'000, "favourites + reblogs + replies before a status trends"),
    CHORUS_INT("trends.min_status_accounts", trends.min_status_accounts, 0, 1'000'000, "distinct interacting accounts before a status trends"),
    CHORUS_INT("trends.min_tag_accounts", trends.min_tag_accounts, 0, 1'000'000, "distinct accounts (today or yesterday) before a tag trends"),
    CHORUS_INT("trends.max_statuses", trends.max_statuses, 10, 10'000'000, "statuses tracked for trends"),
    CHORUS_INT("trends.max_tags", trends.max_tags, 10, 10'000'000, "tags tracked for trends"),
    CHORUS_INT("trends.prune_batch", trends.prune_batch, 1, 10'000'000, "decayed entries pruned per tick"),
    CHORUS_INT("trends.tick_ms", trends.tick_ms, 10, 86'400'000, "trends prune period"),
    CHORUS_INT("trends.seed_hours", trends.seed_hours, 0, 24 * 30, "on start, seed trends from this many hours of statuses (0: none)"),
    CHORUS_INT("trends.seed_limit", trends.seed_limit, 1, 1'000'000, "most statuses read by the startup seed"),
    CHORUS_STR("public.url", public_url, "the public base URL (for account URLs); default http://<http.host>:<port>"),
    CHORUS_STR("admin.token", admin_token, "bearer token for admin routes from non-loopback peers"),
    CHORUS_BOOL("metrics.public", metrics_public, "serve /metrics to every peer"),
    CHORUS_STR("log.level", log_level, "debug, info, warn or error"),
    CHORUS_STR("node.name", node_name, "this node's name in logs and the actor registry"),
  };
  return opts;
}

std::string env_name(const std::string& key) {
  std::string out = "CHORUS_";
  for (char c : key)
    out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

} // namespace

std::vector<std::pair<std::string, int>> parse_job_queues(const std::string& text) {
  std::vector<std::pair<std::string, int>> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto end = text.find(',', pos);
    auto item = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    auto colon = item.find(':');
    auto name = item.substr(0, colon);
    bool name_ok = !name.empty() && name.size() <= 64 &&
                   std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; });
    if (colon == std::string::npos || !name_ok)
      throw config_error("jobs.queues", "config key 'jobs.queues': expected queue:concurrency[,queue:concurrency…], got '" + text + "'");
    out.emplace_back(name, parse_int<int>("jobs.queues", item.substr(colon + 1), 1, 1024));
    if (end == std::string::npos)
      break;
    pos = end + 1;
  }
  return out;
}

std::pair<std::int64_t, std::int64_t> parse_rate(const std::string& key, const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos)
    throw config_error(key, "config key '" + key + "': expected limit/seconds, got '" + text + "'");
  auto limit = parse_int<std::int64_t>(key, text.substr(0, slash), 1, 1'000'000'000);
  auto secs = parse_int<std::int64_t>(key, text.substr(slash + 1), 1, 31'536'000);
  if (limit > secs * 1'000'000)  // a bucket's clock counts microseconds
    throw config_error(key, "config key '" + key + "': at most one request per microsecond (limit <= seconds x 1000000), got '" + text + "'");
  return {limit, secs};
}

std::vector<ratelimit::policy> rate_policies(const ratelimit_config& c) {
  std::vector<ratelimit::policy> out;
  for (auto& [name, text] : {std::pair<const char*, const std::string*>{"api", &c.api}, {"anon", &c.anon},
                             {"statuses", &c.statuses}, {"media", &c.media}, {"follows", &c.follows},
                             {"signup", &c.signup}, {"login_ip", &c.login_ip}, {"login_account", &c.login_account}}) {
    auto [limit, secs] = parse_rate(std::string("ratelimit.") + name, *text);
    out.push_back({name, limit, secs * 1000});
  }
  return out;
}

namespace {

void validate(const config& c) {
  in6_addr buf{};
  if (inet_pton(AF_INET, c.http.host.c_str(), &buf) != 1 && inet_pton(AF_INET6, c.http.host.c_str(), &buf) != 1)
    throw config_error("http.host", "config key 'http.host': expected an IPv4 or IPv6 address, got '" + c.http.host + "'");
  if (c.pg.dsn.empty()) throw config_error("pg.dsn", "config key 'pg.dsn' must not be empty");
  if (c.redis.host.empty()) throw config_error("redis.host", "config key 'redis.host' must not be empty");
  static const char* levels[] = {"debug", "info", "warn", "warning", "error"};
  if (std::find(std::begin(levels), std::end(levels), c.log_level) == std::end(levels))
    throw config_error("log.level", "config key 'log.level': expected debug, info, warn or error, got '" + c.log_level + "'");
  const auto& img = c.moderation.image_url;
  if (!img.empty() && img.rfind("http://", 0) != 0 && img.rfind("https://", 0) != 0)
    throw config_error("moderation.image_url",
                       "config key 'moderation.image_url': expected an http:// or https:// URL, got '" + img + "'");
  parse_job_queues(c.jobs.queues);
  const auto& r = c.ratelimit;
  rate_policies(r);
  try {
    net::parse_cidrs(r.trusted_proxies);
  } catch (const std::invalid_argument& e) {
    throw config_error("ratelimit.trusted_proxies", std::string("config key 'ratelimit.trusted_proxies': ") + e.what());
  }
  if (c.node_dead_after_ms < 3 * c.node_heartbeat_ms)
    throw config_error("node.dead_after_ms", "config key 'node.dead_after_ms' must be at least three node.heartbeat_ms "
                                             "(a late heartbeat must not release a live node's job leases)");
  if (inet_pton(AF_INET, c.cluster.host.c_str(), &buf) != 1 && inet_pton(AF_INET6, c.cluster.host.c_str(), &buf) != 1)
    throw config_error("cluster.host", "config key 'cluster.host': expected an IPv4 or IPv6 address, got '" + c.cluster.host + "'");
  if (c.cluster.timeout_ms <= c.cluster.suspect_after_ms || c.cluster.suspect_after_ms < 2 * c.cluster.heartbeat_ms)
    throw config_error("cluster.timeout_ms", "config keys: need cluster.heartbeat_ms * 2 <= cluster.suspect_after_ms < cluster.timeout_ms");
  {
    auto& k = c.cluster;
    int tls = !k.tls_cert.empty() + !k.tls_key.empty() + !k.tls_ca.empty();
    if (tls != 0 && tls != 3)
      throw config_error("cluster.tls_cert", "config keys cluster.tls_cert, cluster.tls_key and cluster.tls_ca go together (mutual TLS needs all three)");
    in_addr v4{};
    bool loopback = k.host == "::1" || (inet_pton(AF_INET, k.host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127);
    // Any peer that reaches a plain cluster port speaks BASP to this node's actors:
    // off loopback, only mutual TLS keeps strangers out.
    if (k.enabled && !loopback && tls != 3)
      throw config_error("cluster.tls_cert", "config key 'cluster.host' = " + k.host +
                                               " is not a loopback address: set cluster.tls_cert, cluster.tls_key and "
                                               "cluster.tls_ca (mutual TLS), or bind 127.0.0.1");
    if (k.enabled && (k.host == "0.0.0.0" || k.host == "::") && k.advertise.empty())
      throw config_error("cluster.advertise", "config key 'cluster.advertise' is needed when cluster.host is a "
                                              "wildcard address (other nodes must know where to dial)");
    std::string part;
    auto check_seed = [&](std::string seed) {
      auto b = seed.find_first_not_of(" \t"), e = seed.find_last_not_of(" \t");
      if (b == std::string::npos)
        return;
      seed = seed.substr(b, e - b + 1);
      auto colon = seed.rfind(':');
      bool ok = colon != std::string::npos && colon > 0 && colon + 1 < seed.size() &&
                seed.find_first_not_of("0123456789", colon + 1) == std::string::npos && seed.size() - colon <= 6;
      if (ok) {
        auto port = std::stol(seed.substr(colon + 1));
        ok = port > 0 && port <= 65535;
      }
      if (!ok)
        throw config_error("cluster.seeds", "config key 'cluster.seeds': expected host:port, got '" + seed + "'");
    };
    for (char ch : k.seeds)
      if (ch == ',') {
        check_seed(part);
        part.clear();
      } else {
        part.push_back(ch);
      }
    check_seed(part);
  }
  if (c.jobs.backoff_cap_ms < c.jobs.backoff_base_ms)
    throw config_error("jobs.backoff_cap_ms", "config key 'jobs.backoff_cap_ms' must not be below jobs.backoff_base_ms");
  if (!c.admin_token.empty() && c.admin_token.size() < 16)
    throw config_error("admin.token", "config key 'admin.token': use at least 16 characters");
}

} // namespace

std::string redact_dsn(const std::string& dsn) {
  std::string out = dsn;
  // key/value form: password=secret or password='se cret'
  auto pos = out.find("password=");
  if (pos != std::string::npos) {
    auto start = pos + 9;
    auto end = start;
    if (end < out.size() && out[end] == '\'') {
      end = out.find('\'', end + 1);
      end = end == std::string::npos ? out.size() : end + 1;
    } else {
      end = out.find(' ', start);
      if (end == std::string::npos) end = out.size();
    }
    out.replace(start, end - start, "***");
  }
  // URI form: postgresql://user:secret@host
  auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    auto at = out.find('@', scheme);
    auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      out.replace(colon + 1, at - colon - 1, "***");
  }
  return out;
}

std::vector<config_key_info> config_keys() {
  std::vector<config_key_info> out;
  config defaults;
  for (auto& o : options())
    out.push_back({o.key, env_name(o.key), o.description, o.get(defaults)});
  return out;
}

void set_config_value(config& cfg, const std::string& key, const std::string& value) {
  for (auto& o : options())
    if (key == o.key) {
      o.set(cfg, value);
      return;
    }
  throw config_error(key, "unknown config key '" + key + "'");
}

config load_config(const std::string& file, const std::map<std::string, std::string>& env) {
  config cfg;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in)
      throw config_error("config", "cannot read config file '" + file + "'");
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      auto t = trim(line);
      if (t.empty() || t[0] == '#')
        continue;
      auto eq = t.find('=');
      if (eq == std::string::npos)
        throw config_error("config", file + ":" + std::to_string(lineno) + ": expected 'key = value'");
      auto key = trim(t.substr(0, eq));
      auto value = trim(t.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      set_config_value(cfg, key, value);
    }
  }
  for (auto& o : options()) {
    auto it = env.find(env_name(o.key));
    if (it != env.end())
      o.set(cfg, it->second);
  }
  if (cfg.node_name.empty()) {
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) == 0)
      cfg.node_name = host;
    else
      cfg.node_name = "chorus";
  }
  if (!cfg.cluster.secret_file.empty()) {
    std::ifstream in(cfg.cluster.secret_file);
    std::string line;
    if (!in || !std::getline(in, line) || trim(line).empty())
      throw config_error("cluster.secret_file", "config key 'cluster.secret_file': cannot read a secret from '" +
                                                  cfg.cluster.secret_file + "'");
    cfg.cluster.secret = trim(line);
  }
  validate(cfg);
  return cfg;
}

std::map<std::string, std::string> environ_map() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos && kv.compare(0, 7, "CHORUS_") == 0)
      out.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return out;
}

std::map<std::string, std::string> describe(const config& cfg) {
  std::map<std::string, std::string> out;
  for (auto& o : options())
    out[o.key] = o.get(cfg);
  if (!cfg.admin_token.empty())
    out["admin.token"] = "(set)";
  out["pg.dsn"] = redact_dsn(cfg.pg.dsn);
  return out;
}

} // namespace chorus
