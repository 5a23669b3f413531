#include "common/config.hpp"

#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>

using namespace chorus;

TEST(Config, DefaultsAreValid) {
  auto cfg = load_config("", {});
  EXPECT_EQ(cfg.http.port, 3000);
  EXPECT_EQ(cfg.http.host, "127.0.0.1");
  EXPECT_FALSE(cfg.node_name.empty());
}

TEST(Config, EnvironmentOverridesEveryKey) {
  std::map<std::string, std::string> env;
  for (auto& k : config_keys())
    EXPECT_EQ(k.env.rfind("CHORUS_", 0), 0u) << k.key;
  env["CHORUS_HTTP_PORT"] = "8080";
  env["CHORUS_PG_POOL_SIZE"] = "7";
  env["CHORUS_METRICS_PUBLIC"] = "yes";
  env["CHORUS_PG_DSN"] = "host=db dbname=x";
  auto cfg = load_config("", env);
  EXPECT_EQ(cfg.http.port, 8080);
  EXPECT_EQ(cfg.pg.pool_size, 7);
  EXPECT_TRUE(cfg.metrics_public);
  EXPECT_EQ(cfg.pg.dsn, "host=db dbname=x");
}

TEST(Config, FileThenEnvironment) {
  auto path = std::string(::testing::TempDir()) + "/chorus_cfg_test.conf";
  {
    std::ofstream out(path);
    out << "# comment\nhttp.port = 4000\nlog.level = \"debug\"\n\npg.pool_size=3\n";
  }
  auto cfg = load_config(path, {{"CHORUS_PG_POOL_SIZE", "9"}});
  EXPECT_EQ(cfg.http.port, 4000);
  EXPECT_EQ(cfg.log_level, "debug");
  EXPECT_EQ(cfg.pg.pool_size, 9);
  std::remove(path.c_str());
}

TEST(Config, InvalidValuesNameTheKey) {
  auto expect_key = [](std::map<std::string, std::string> env, const std::string& key) {
    try {
      load_config("", env);
      ADD_FAILURE() << "no error for " << key;
    } catch (const config_error& e) {
      EXPECT_EQ(e.key(), key);
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  expect_key({{"CHORUS_HTTP_PORT", "abc"}}, "http.port");
  expect_key({{"CHORUS_HTTP_PORT", "70000"}}, "http.port");
  expect_key({{"CHORUS_PG_POOL_SIZE", "0"}}, "pg.pool_size");
  expect_key({{"CHORUS_METRICS_PUBLIC", "maybe"}}, "metrics.public");
  expect_key({{"CHORUS_LOG_LEVEL", "verbose"}}, "log.level");
  expect_key({{"CHORUS_ADMIN_TOKEN", "short"}}, "admin.token");
  expect_key({{"CHORUS_PG_DSN", ""}}, "pg.dsn");
  expect_key({{"CHORUS_HTTP_HOST", "localhost"}}, "http.host");
  expect_key({{"CHORUS_RATELIMIT_ANON", "300"}}, "ratelimit.anon");
  expect_key({{"CHORUS_RATELIMIT_API", "1000000000/300"}}, "ratelimit.api");  // more than one per microsecond
  EXPECT_NO_THROW(load_config("", {{"CHORUS_RATELIMIT_API", "300000000/300"}})) << "one per microsecond is fine";
}

TEST(Config, UnknownKeyInFileIsAnError) {
  auto path = std::string(::testing::TempDir()) + "/chorus_cfg_bad.conf";
  {
    std::ofstream out(path);
    out << "http.prot = 1\n";
  }
  try {
    load_config(path, {});
    ADD_FAILURE() << "unknown key accepted";
  } catch (const config_error& e) {
    EXPECT_EQ(e.key(), "http.prot");
  }
  std::remove(path.c_str());
}

TEST(Config, DescribeRedactsSecrets) {
  auto cfg = load_config("", {{"CHORUS_ADMIN_TOKEN", "0123456789abcdef0123"},
                              {"CHORUS_PG_DSN", "host=db password=hunter2 dbname=x"}});
  auto d = describe(cfg);
  EXPECT_EQ(d["admin.token"], "(set)");
  EXPECT_EQ(d["pg.dsn"].find("hunter2"), std::string::npos) << d["pg.dsn"];
}

TEST(Config, AClusterOffLoopbackNeedsMutualTlsAndSeedsMustBeAddresses) {
  auto load = [](std::map<std::string, std::string> env) { return load_config("", env); };
  EXPECT_NO_THROW(load({{"CHORUS_CLUSTER_HOST", "127.0.0.2"}}));
  try {
    load({{"CHORUS_CLUSTER_HOST", "10.0.0.5"}});
    ADD_FAILURE() << "a plain cluster port off loopback was accepted";
  } catch (const config_error& e) {
    EXPECT_EQ(e.key(), "cluster.tls_cert");
  }
  EXPECT_NO_THROW(load({{"CHORUS_CLUSTER_HOST", "10.0.0.5"}, {"CHORUS_CLUSTER_ENABLED", "false"}}));
  EXPECT_NO_THROW(load({{"CHORUS_CLUSTER_HOST", "10.0.0.5"}, {"CHORUS_CLUSTER_TLS_CERT", "a.pem"},
                        {"CHORUS_CLUSTER_TLS_KEY", "a.key"}, {"CHORUS_CLUSTER_TLS_CA", "ca.pem"}}));
  EXPECT_THROW(load({{"CHORUS_CLUSTER_TLS_CERT", "a.pem"}}), config_error) << "all three TLS keys or none";
  EXPECT_THROW(load({{"CHORUS_CLUSTER_HOST", "0.0.0.0"}, {"CHORUS_CLUSTER_TLS_CERT", "a.pem"},
                     {"CHORUS_CLUSTER_TLS_KEY", "a.key"}, {"CHORUS_CLUSTER_TLS_CA", "ca.pem"}}),
               config_error)
    << "a wildcard address needs cluster.advertise";
  EXPECT_NO_THROW(load({{"CHORUS_CLUSTER_SEEDS", "10.0.0.1:7400, node-b.internal:7400,[::1]:7400"}}));
  for (auto bad : {"10.0.0.1", "10.0.0.1:0", "10.0.0.1:70000", ":7400", "host:74x0"})
    EXPECT_THROW(load({{"CHORUS_CLUSTER_SEEDS", bad}}), config_error) << bad;
  EXPECT_THROW(load({{"CHORUS_CLUSTER_HEARTBEAT_MS", "2000"}}), config_error) << "suspect_after below two heartbeats";
}

TEST(Config, StreamingKeys) {
  auto cfg = load_config("", {});
  EXPECT_EQ(cfg.streaming.send_queue, 256);
  EXPECT_EQ(cfg.streaming.outbox_size, 1000);
  EXPECT_EQ(cfg.streaming.resume_window_ms, 300000);
  cfg = load_config("", {{"CHORUS_STREAMING_SEND_QUEUE", "8"}, {"CHORUS_STREAMING_OUTBOX_SIZE", "50"},
                         {"CHORUS_STREAMING_RESUME_WINDOW_MS", "0"}, {"CHORUS_STREAMING_HEARTBEAT_MS", "500"},
                         {"CHORUS_STREAMING_MAX_CONNECTIONS", "10"}, {"CHORUS_STREAMING_SEND_BUFFER", "4096"}});
  EXPECT_EQ(cfg.streaming.send_queue, 8);
  EXPECT_EQ(cfg.streaming.outbox_size, 50);
  EXPECT_EQ(cfg.streaming.resume_window_ms, 0);
  EXPECT_EQ(cfg.streaming.heartbeat_ms, 500);
  EXPECT_EQ(cfg.streaming.max_connections, 10);
  EXPECT_EQ(cfg.streaming.send_buffer, 4096);
  EXPECT_THROW(load_config("", {{"CHORUS_STREAMING_SEND_QUEUE", "0"}}), config_error);
  EXPECT_THROW(load_config("", {{"CHORUS_STREAMING_OUTBOX_SIZE", "5"}}), config_error);
}

TEST(Config, ModerationImageUrl) {
  EXPECT_EQ(load_config("", {}).moderation.image_url, "") << "unset: scripts/up starts the bundled detector";
  EXPECT_EQ(load_config("", {{"CHORUS_MODERATION_IMAGE_URL", "http://127.0.0.1:8077"}}).moderation.image_url,
            "http://127.0.0.1:8077");
  for (auto bad : {"127.0.0.1:8077", "ftp://x", "file:///etc/passwd"})
    EXPECT_THROW(load_config("", {{"CHORUS_MODERATION_IMAGE_URL", bad}}), config_error) << bad;
}
