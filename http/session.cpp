#include "http/session.hpp"

#include "common/log.hpp"
#include "http/dto/body.hpp"
#include "http/error_mapping.hpp"
#include "http/responder.hpp"
#include "http/server_impl.hpp"
#include "http/streaming/gateway.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <random>

namespace chorus::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;

namespace {

std::string make_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  auto v = rng();
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i)
    out[i] = hex[(v >> (i * 4)) & 0xf];
  return out;
}

bool valid_request_id(beast::string_view id) {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

// Metric label for a method: known methods as they are, anything else "other",
// so clients cannot create unbounded label values.
const std::string& metric_method(const std::string& m) {
  static const std::string known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  static const std::string other = "other";
  for (auto& k : known)
    if (k == m)
      return k;
  return other;
}

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

} // namespace

struct session::sink : reply_sink {
  explicit sink(std::shared_ptr<session> s) : s_(std::move(s)) {}
  void deliver(response r) override { s_->post_response(std::move(r)); }
  void post(std::function<void()> fn) override { s_->post_task(std::move(fn)); }
  std::shared_ptr<session> s_;
};

session::session(tcp::socket&& socket, std::shared_ptr<server::impl> srv, std::uint64_t id)
  : stream_(std::move(socket)), srv_(std::move(srv)), id_(id) {
  beast::error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
      addr = net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6());
    remote_ = addr.to_string();
    loopback_ = addr.is_loopback();
  }
}

session::~session() { srv_->remove(id_); }

void session::start() {
  net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, shared_from_this()));
}

void session::reject() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->method_ = "-";
    self->route_ = "rejected";
    self->request_id_ = make_request_id();
    self->t0_ = steady::now();
    self->closing_ = true;
    self->busy_ = true;
    self->head_ = false;
    self->srv_->in_flight.add(1);
    self->write(error_response(errc::overloaded, "Too many connections"));
  });
}

void session::begin_close() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->closing_ = true;
    if (!self->busy_)
      self->do_close();
  });
}

void session::post_response(response r) {
  if (on_strand())
    return write(std::move(r));
  net::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(r)]() mutable {
    self->write(std::move(r));
  });
}

void session::post_task(std::function<void()> fn) { net::post(stream_.get_executor(), std::move(fn)); }

bool session::on_strand() {
  auto* strand = stream_.get_executor().target<net::strand<net::io_context::executor_type>>();
  return strand && strand->running_in_this_thread();
}

void session::do_read() {
  if (closing_ || srv_->stopping.load()) {
    do_close();
    return;
  }
  parser_.emplace();
  parser_->body_limit(srv_->cfg.body_limit);
  parser_->header_limit(static_cast<std::uint32_t>(srv_->cfg.header_limit));
  stream_.expires_after(std::chrono::milliseconds(first_ ? srv_->cfg.read_timeout_ms : srv_->cfg.idle_timeout_ms));
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&session::on_header, shared_from_this()));
}

void session::on_header(beast::error_code ec, std::size_t) {
  if (ec)
    return on_read_error(ec);
  first_ = false;
  stream_.expires_after(std::chrono::milliseconds(srv_->cfg.read_timeout_ms));
  auto& req = parser_->get();
  auto expect = req[bhttp::field::expect];
  if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, req.version());
    bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code ec, std::size_t) {
      if (ec)
        return self->do_close();
      self->read_body();
    });
    return;
  }
  read_body();
}

void session::read_body() {
  if (parser_->is_done())
    return on_read({}, 0);
  bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
}

void session::on_read_error(beast::error_code ec) {
  // Anything the client sent wrong gets an answer before we hang up; transport
  // errors (peer gone, timeout, shutdown) just close.
  if (closed_ || !is_http_parse_error(ec) || ec == bhttp::error::end_of_stream)
    return do_close();
  begin_error_request();
  if (ec == bhttp::error::body_limit)
    return write(error_response(errc::payload_too_large, "Request body too large",
                                "the limit is " + std::to_string(srv_->cfg.body_limit) + " bytes"));
  if (ec == bhttp::error::header_limit)
    return write(error_response(errc::header_too_large, "Request header fields too large"));
  write(error_response(errc::bad_request, "Malformed HTTP request", ec.message()));
}

void session::begin_error_request() {
  closing_ = true;
  busy_ = true;
  t0_ = steady::now();
  route_ = "invalid";
  request_id_ = make_request_id();
  head_ = false;
  if (parser_ && parser_->is_header_done()) {
    method_ = std::string(parser_->get().method_string());
    head_ = method_ == "HEAD";
    target_ = std::string(parser_->get().target());
  } else {
    method_ = "-";
    target_.clear();
  }
  srv_->in_flight.add(1);
}

void session::on_read(beast::error_code ec, std::size_t) {
  if (ec)
    return on_read_error(ec);
  stream_.expires_never();
  handle(parser_->release());
}

void session::handle(bhttp::request<bhttp::string_body>&& breq) {
  busy_ = true;
  t0_ = steady::now();
  srv_->in_flight.add(1);
  keep_alive_ = breq.keep_alive();
  version_ = breq.version();
  auto incoming_id = breq["x-request-id"];
  request_id_ = valid_request_id(incoming_id) ? std::string(incoming_id) : make_request_id();
  method_ = std::string(breq.method_string());
  target_ = std::string(breq.target());
  user_agent_ = std::string(breq[bhttp::field::user_agent]);
  // HEAD is GET without the body (RFC 9110 9.3.2): routed and handled as GET,
  // answered with the same head and no body bytes.
  head_ = method_ == "HEAD";

  responder res(std::make_shared<sink>(shared_from_this()), request_id_);
  request req;
  req.method = head_ ? std::string("GET") : method_;
  req.target = target_;
  req.remote_ip = remote_;
  req.remote_loopback = loopback_;
  req.request_id = request_id_;
  auto q = target_.find('?');
  std::string raw_path = target_.substr(0, q);
  if (q != std::string::npos)
    req.query_string = target_.substr(q + 1);
  if (raw_path.empty() || raw_path[0] != '/' || !url_decode(raw_path, req.path, false)) {
    route_ = "invalid";
    return res.fail(errc::bad_request, "Malformed request target");
  }
  while (req.path.size() > 1 && req.path.back() == '/')
    req.path.pop_back();
  if (!check_target(req, res)) {
    route_ = "invalid";
    return;
  }
  for (auto& f : breq) {
    std::string name(f.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  req.body = std::move(breq.body());

  // The streaming API takes the connection over (WebSocket upgrade or SSE).
  if (srv_->streaming && stream_gateway::wants(req.path) && !srv_->stopping.load()) {
    route_ = "/api/v1/streaming";
    closed_ = true;  // the socket is the gateway's now: the answer below is only logged and counted
    srv_->streaming->take(std::move(stream_), std::move(buffer_), std::move(breq), std::move(req));
    response handed_over;
    handed_over.status = 101;
    return res.send(std::move(handed_over));
  }

  auto m = srv_->routes->find(req);
  if (!m.fn) {
    route_ = "unmatched";
    if (!m.allow.empty()) {
      auto r = error_response(errc::method_not_allowed, "Method not allowed");
      r.headers.emplace_back("Allow", m.allow);
      return res.send(std::move(r));
    }
    return res.fail(errc::not_found, "Not found", "no route for " + req.method + " " + req.path);
  }
  route_ = m.route;
  try {
    (*m.fn)(req, res);
  } catch (const std::exception& e) {
    log::write(log::level::error, "handler threw", {{"req_id", request_id_}, {"route", route_}, {"error", e.what()}});
    res.fail(errc::internal);
  }
}

void session::write(response r) {
  if (closed_) {
    finish(r.status, 0);
    return;
  }
  send(std::move(r));
}

// The status line and headers are written into one buffer and sent with the
// body in one gather write: Beast's field-by-field serializer cost about a
// microsecond per header on this path (the rate-limit headers are five).
void session::send(response r) {
  struct out {
    std::string head;
    std::string body;
    std::shared_ptr<const std::string> shared;
  };
  auto o = std::make_shared<out>();
  bool keep_alive = keep_alive_ && !closing_ && !srv_->stopping.load();
  bool no_length = (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
  bool bodiless = no_length || head_;
  if (r.shared_body)
    o->shared = std::move(r.shared_body);
  else
    o->body = std::move(r.body);
  const std::string& body = o->shared ? *o->shared : o->body;
  auto& h = o->head;
  h.reserve(160 + r.content_type.size() + 48 * r.headers.size());
  h.append(version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ").append(std::to_string(r.status)).append(1, ' ');
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
  h.append(reason.data(), reason.size()).append("\r\nServer: chorus\r\nContent-Type: ");
  append_value(h, r.content_type);
  h.append("\r\nX-Request-Id: ").append(request_id_).append("\r\n");
  for (auto& [k, v] : r.headers) {
    append_value(h, k);
    h.append(": ");
    append_value(h, v);
    h.append("\r\n");
  }
  if (!no_length)
    h.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  if (version_ == 10 && keep_alive)
    h.append("Connection: keep-alive\r\n");
  else if (version_ != 10 && !keep_alive)
    h.append("Connection: close\r\n");
  h.append("\r\n");
  std::array<net::const_buffer, 2> bufs{net::buffer(h), net::buffer(bodiless ? std::string_view() : std::string_view(body))};
  stream_.expires_after(std::chrono::milliseconds(srv_->cfg.read_timeout_ms));
  net::async_write(stream_, bufs, [self = shared_from_this(), o, status = r.status, keep_alive](beast::error_code ec, std::size_t n) {
    self->finish(status, n);
    if (ec || !keep_alive)
      return self->do_close();
    self->do_read();
  });
}

void session::append_value(std::string& h, const std::string& v) {
  auto bad = [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; };
  if (std::none_of(v.begin(), v.end(), bad))
    return void(h.append(v));
  for (char c : v)
    if (!bad(static_cast<unsigned char>(c)))
      h.push_back(c);
}

void session::finish(int status, std::size_t bytes) {
  auto secs = std::chrono::duration<double>(steady::now() - t0_).count();
  busy_ = false;
  srv_->in_flight.add(-1);
  srv_->record(metric_method(method_), route_, status, secs);
  if (log::enabled(log::level::info))
    log::write(log::level::info, "request",
               {{"req_id", request_id_}, {"method", method_}, {"path", target_.substr(0, target_.find('?'))}, {"route", route_},
                {"status", status}, {"dur_ms", secs * 1000.0}, {"bytes", bytes}, {"remote", remote_},
                {"ua", user_agent_}});
}

void session::do_close() {
  if (closed_)
    return;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.close();
}

} // namespace chorus::http
