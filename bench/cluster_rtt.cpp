// bench/cluster (part 2): one request/response of the home-read messages
// (home_query → status_view carrying a rendered page) to a local actor and to
// the same actor in another actor system over BASP (TCP on loopback, as the
// cluster's nodes talk), and over caf_openssl with certificates (mutual TLS).
//   bench_cluster_rtt serve PORT [CERTDIR NAME]       — publish an echo actor, run until killed
//   bench_cluster_rtt measure PORT N BODY [CERTDIR NAME] — local, then remote: p50/p99 µs
// The scenario runs `serve` as its own process. Registered types are Chorus's
// remote catalogue (actors/protocol/wire.hpp), so the bytes are the real ones.
#include "actors/protocol/interfaces.hpp"
#include "actors/protocol/wire.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/openssl/remote_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace chorus;
using namespace chorus::actors;

namespace {

using echo_actor = caf::typed_actor<caf::replies_to<home_query>::with<status_view>>;

echo_actor::behavior_type echo(echo_actor::pointer, std::shared_ptr<const std::string> body) {
  return {[body](home_query& q) {
    status_view v;
    v.body = body;
    v.newest_cursor = static_cast<std::int64_t>(q.viewer);
    v.oldest_cursor = 1;
    return v;
  }};
}

std::unique_ptr<caf::actor_system_config> make_config(const std::string& certdir, const std::string& name) {
  auto cfg = std::make_unique<caf::actor_system_config>();
  add_message_types(*cfg);
  cfg->load<caf::io::middleman>();
  if (!certdir.empty()) {
    cfg->openssl_certificate = certdir + "/" + name + ".pem";
    cfg->openssl_key = certdir + "/" + name + ".key";
    cfg->openssl_cafile = certdir + "/ca.pem";
    cfg->load<caf::openssl::manager>();
  }
  return cfg;
}

// p50 and p99 of `n` blocking request/response round trips to `dest`, µs.
std::pair<double, double> measure(caf::actor_system& sys, const echo_actor& dest, int n) {
  caf::scoped_actor self{sys};
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n + n / 10; ++i) {  // the first tenth warms up
    auto t0 = std::chrono::steady_clock::now();
    bool ok = false;
    self->request(dest, std::chrono::seconds(5), home_query{account_id{i + 1}, {}})
      .receive([&](status_view& v) { ok = v.body && v.newest_cursor == i + 1; },
               [&](caf::error& e) { std::fprintf(stderr, "error: %s\n", sys.render(e).c_str()); });
    if (!ok)
      std::exit(1);
    if (i >= n / 10)
      us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s serve PORT [CERTDIR NAME] | measure PORT N BODY_BYTES [CERTDIR NAME]\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  auto port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  if (mode == "serve") {
    std::string certdir = argc > 4 ? argv[3] : "", name = argc > 4 ? argv[4] : "";
    auto cfg = make_config(certdir, name);
    caf::actor_system sys{*cfg};
    auto body = std::make_shared<const std::string>(8192, 'x');
    auto a = sys.spawn(echo, body);
    auto bound = certdir.empty() ? sys.middleman().publish(a, port, "127.0.0.1", true)
                                 : caf::openssl::publish(a, port, "127.0.0.1", true);
    if (!bound) {
      std::fprintf(stderr, "cannot publish: %s\n", sys.render(bound.error()).c_str());
      return 1;
    }
    std::printf("listening %u\n", static_cast<unsigned>(*bound));
    std::fflush(stdout);
    for (;;)
      std::this_thread::sleep_for(std::chrono::hours(1));
  }
  if (mode != "measure" || argc < 5)
    return 2;
  int n = std::atoi(argv[3]);
  auto bytes = static_cast<std::size_t>(std::atoi(argv[4]));
  std::string certdir = argc > 6 ? argv[5] : "", name = argc > 6 ? argv[6] : "";
  auto cfg = make_config(certdir, name);
  caf::actor_system sys{*cfg};
  auto local = sys.spawn(echo, std::make_shared<const std::string>(bytes, 'x'));
  auto [l50, l99] = measure(sys, local, n);
  auto remote = certdir.empty() ? sys.middleman().remote_actor<echo_actor>("127.0.0.1", port)
                                : caf::openssl::remote_actor<echo_actor>(sys, "127.0.0.1", port);
  if (!remote) {
    std::fprintf(stderr, "cannot connect: %s\n", sys.render(remote.error()).c_str());
    return 1;
  }
  auto [r50, r99] = measure(sys, *remote, n);
  std::printf("local p50 %.1f us p99 %.1f us; remote p50 %.1f us p99 %.1f us; remote/local p50 %.2f p99 %.2f\n", l50, l99,
              r50, r99, r50 / l50, r99 / l99);
  caf::anon_send_exit(local, caf::exit_reason::user_shutdown);
  return 0;
}
