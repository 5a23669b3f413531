// The listener and the server's lifecycle: bind, accept (refusing connections
// beyond http.max_connections), I/O threads, signals and graceful shutdown.
// Each connection is a session (session.cpp).
#include "http/server.hpp"

#include "common/log.hpp"
#include "http/server_impl.hpp"
#include "http/session.hpp"
#include "http/streaming/gateway.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

namespace chorus::http {

namespace beast = boost::beast;

void server::impl::record(const std::string& method, const std::string& route, int status, double seconds) {
  // Series are created once under the registry's lock; after that each I/O
  // thread finds them in its own cache without taking any lock.
  struct series {
    metrics::counter* count;
    metrics::histogram* latency;
  };
  thread_local std::unordered_map<std::string, series> cache;
  thread_local const metrics::registry* cache_owner = nullptr;
  if (cache_owner != &metrics) {
    cache.clear();
    cache_owner = &metrics;
  }
  auto st = std::to_string(status);
  auto key = method + ' ' + route + ' ' + st;
  auto it = cache.find(key);
  if (it == cache.end()) {
    series s{&metrics.get_counter("chorus_http_requests_total", "HTTP requests by method, route and status",
                                  {{"method", method}, {"route", route}, {"status", st}}),
             &metrics.get_histogram("chorus_http_request_duration_seconds",
                                    "HTTP request latency by route and status", {{"route", route}, {"status", st}})};
    it = cache.emplace(std::move(key), s).first;
  }
  it->second.count->inc();
  it->second.latency->observe(seconds);
}

void server::impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !self->acceptor.is_open())
        return;
      log::write(log::level::warn, "accept failed", {{"error", ec.message()}});
    } else {
      std::shared_ptr<session> s;
      bool over = false;
      {
        std::lock_guard<std::mutex> guard(self->mtx);
        auto id = self->next_session++;
        s = std::make_shared<session>(std::move(socket), self, id);
        over = self->sessions.size() >= static_cast<std::size_t>(self->cfg.max_connections);
        self->sessions.emplace(id, s);
        self->connections.set(static_cast<std::int64_t>(self->sessions.size()));
      }
      if (over) {
        self->rejected.inc();
        s->reject();
      } else {
        s->start();
      }
    }
    if (!self->stopping.load())
      self->accept();
  });
}

server::server(const http_config& cfg, std::shared_ptr<const router> routes, metrics::registry& metrics)
  : impl_(std::make_shared<impl>(cfg, std::move(routes), metrics)) {}

server::~server() {
  if (!impl_->threads.empty())
    shutdown(std::chrono::milliseconds(0));
}

void server::set_routes(std::shared_ptr<const router> routes) { impl_->routes = std::move(routes); }

void server::set_streaming(std::shared_ptr<stream_gateway> gateway) { impl_->streaming = std::move(gateway); }

std::uint16_t server::bind() {
  auto addr = net::ip::make_address(impl_->cfg.host);
  tcp::endpoint ep(addr, impl_->cfg.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol());
  a.set_option(net::socket_base::reuse_address(true));
  beast::error_code ec;
  a.bind(ep, ec);
  if (ec)
    throw std::runtime_error("cannot bind " + impl_->cfg.host + ":" + std::to_string(impl_->cfg.port) + ": " +
                             ec.message());
  a.listen(net::socket_base::max_listen_connections);
  return a.local_endpoint().port();
}

void server::run() {
  impl_->work.emplace(impl_->ioc.get_executor());
  impl_->signals.add(SIGINT);
  impl_->signals.add(SIGTERM);
  impl_->signals.async_wait([i = impl_](beast::error_code ec, int sig) {
    if (ec)
      return;
    log::write(log::level::info, "signal received, shutting down", {{"signal", sig}});
    {
      std::lock_guard<std::mutex> guard(i->mtx);
      i->signalled = true;
      i->cv.notify_all();
    }
    // A second signal during the grace period means "now".
    i->signals.async_wait([](beast::error_code ec2, int sig2) {
      if (ec2)
        return;
      log::write(log::level::warn, "second signal, exiting without waiting", {{"signal", sig2}});
      std::_Exit(128 + sig2);
    });
  });
  impl_->accept();
  if (impl_->streaming)
    impl_->streaming->start(impl_->ioc);
  for (int t = 0; t < impl_->cfg.threads; ++t)
    impl_->threads.emplace_back([i = impl_] { i->ioc.run(); });
}

void server::wait_for_signal() {
  std::unique_lock<std::mutex> lock(impl_->mtx);
  impl_->cv.wait(lock, [this] { return impl_->signalled; });
}

std::size_t server::connections() const {
  std::lock_guard<std::mutex> guard(impl_->mtx);
  return impl_->sessions.size();
}

void server::shutdown(std::chrono::milliseconds grace) {
  auto& i = *impl_;
  if (i.threads.empty())
    return;
  i.stopping.store(true);
  if (i.streaming)
    i.streaming->stop();
  net::post(i.ioc, [p = impl_] {
    beast::error_code ec;
    p->acceptor.close(ec);
  });
  std::vector<std::shared_ptr<session>> live;
  {
    std::lock_guard<std::mutex> guard(i.mtx);
    for (auto& [id, w] : i.sessions)
      if (auto s = w.lock())
        live.push_back(std::move(s));
  }
  for (auto& s : live)
    s->begin_close();
  live.clear();
  {
    std::unique_lock<std::mutex> lock(i.mtx);
    if (!i.cv.wait_for(lock, grace, [&] { return i.sessions.empty(); }))
      log::write(log::level::warn, "shutdown grace period over, closing remaining connections",
                 {{"connections", i.sessions.size()}});
  }
  i.work.reset();
  i.ioc.stop();
  for (auto& t : i.threads)
    if (t.joinable())
      t.join();
  i.threads.clear();
}

} // namespace chorus::http
