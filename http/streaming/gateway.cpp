// Streaming connections (Mastodon's streaming API): authentication, the
// WebSocket and SSE transports, subscriptions with resume, and the bounded
// send queue of each connection. A connection is a Beast socket plus one
// `conn` object: no thread and no actor per connection.
#include "http/streaming/gateway.hpp"

#include "actors/accounts/token_cache.hpp"
#include "actors/protocol/errors.hpp"
#include "common/metrics.hpp"
#include "common/crypto.hpp"
#include "common/log.hpp"
#include "common/scopes.hpp"
#include "common/text.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/websocket/detail/hybi13.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <array>
#include <atomic>
#include <cstring>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

namespace chorus::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;

namespace streaming {

namespace {
std::string lower(std::string t) {
  for (auto& c : t)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

bool valid_tag(const std::string& t) {
  if (t.empty() || t.size() > 100 || !text::valid_utf8(t))
    return false;
  for (unsigned char c : t)
    if (c < 0x80 && !std::isalnum(c) && c != '_')
      return false;
  return true;
}

std::string param(const std::map<std::string, std::string>& p, const char* k) {
  auto it = p.find(k);
  return it == p.end() ? std::string() : it->second;
}
} // namespace

std::string stream_of_path(const std::string& path) {
  static const std::map<std::string, std::string> paths = {
    {"/api/v1/streaming/user", "user"},
    {"/api/v1/streaming/user/notification", "user:notification"},
    {"/api/v1/streaming/public", "public"},
    {"/api/v1/streaming/public/local", "public:local"},
    {"/api/v1/streaming/public/remote", "public:remote"},
    {"/api/v1/streaming/public/media", "public:media"},
    {"/api/v1/streaming/public/local/media", "public:local:media"},
    {"/api/v1/streaming/public/remote/media", "public:remote:media"},
    {"/api/v1/streaming/hashtag", "hashtag"},
    {"/api/v1/streaming/hashtag/local", "hashtag:local"},
    {"/api/v1/streaming/list", "list"},
    {"/api/v1/streaming/direct", "direct"},
  };
  auto it = paths.find(path);
  return it == paths.end() ? std::string() : it->second;
}

stream_spec parse_stream(const std::string& name, const std::map<std::string, std::string>& params,
                         std::int64_t viewer) {
  stream_spec s;
  s.scope = "read:statuses";
  auto media = param(params, "only_media");
  bool only_media = media == "true" || media == "1";
  auto own = [&](const std::string& stream) {
    s.needs_user = true;
    s.user = viewer;
    s.key = stream + "@" + std::to_string(viewer);
  };
  if (name == "user") {
    own("user");
  } else if (name == "user:notification") {
    own("user:notification");
    s.scope = "read:notifications";
  } else if (name == "direct") {
    own("direct");
  } else if (name == "public" || name == "public:local" || name == "public:remote") {
    s.key = name + (only_media ? ":media" : "");
  } else if (name == "public:media" || name == "public:local:media" || name == "public:remote:media") {
    s.key = name;
  } else if (name == "hashtag" || name == "hashtag:local") {
    auto tag = param(params, "tag");
    if (tag.empty()) {
      s.status = 400;
      s.error = "No tag for stream provided";
    } else if (!valid_tag(tag)) {
      s.status = 400;
      s.error = "Invalid tag";
    } else {
      s.key = name + ":" + lower(tag);
    }
  } else if (name == "list") {
    // Chorus has no lists yet: every list id is one the viewer cannot stream.
    s.needs_user = true;
    s.status = 401;
    s.error = param(params, "list").empty() ? "No list for stream provided" : "Not authorized to stream this list";
    if (param(params, "list").empty())
      s.status = 400;
  } else {
    s.status = 400;
    s.error = "Unknown stream type";
  }
  return s;
}

} // namespace streaming

using namespace streaming;

namespace {

// "17" → 17; anything but 1–18 digits → nullopt.
std::optional<std::int64_t> parse_seq(const std::string& v) {
  if (v.empty() || v.size() > 18)
    return std::nullopt;
  std::int64_t out = 0;
  for (char c : v) {
    if (c < '0' || c > '9')
      return std::nullopt;
    out = out * 10 + (c - '0');
  }
  return out;
}

// A frame for one connection; `raw`: `ws` holds bytes to send as they are
// (a handshake answer, a control frame), not a text message to frame.
std::shared_ptr<const frame> control_frame(const std::string& ws, const std::string& sse, bool raw = false) {
  auto f = std::make_shared<frame>();
  f->ws = ws;
  f->sse = sse;
  f->control = raw;
  return f;
}

std::shared_ptr<const frame> refetch_frame(const char* reason) {
  auto r = nlohmann::json(reason).dump();
  return control_frame("{\"stream\":[],\"event\":\"refetch\",\"payload\":" + r + "}",
                       std::string("event: refetch\ndata: ") + reason + "\n\n");
}

std::shared_ptr<const frame> error_frame(const std::string& error, int status) {
  nlohmann::json j{{"error", error}, {"status", status}};
  return control_frame(j.dump(), "event: error\ndata: " + j.dump() + "\n\n");
}

std::string http_error(int status, const std::string& error) {
  auto body = nlohmann::json{{"error", error}}.dump();
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason.data(), reason.size()) +
         "\r\nServer: chorus\r\n" + (status == 503 ? "Retry-After: 1\r\n" : "") +
         "Content-Type: application/json; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

// One of a connection's streams. User streams keep the last sequence number
// sent, and while a resume is replayed (`replaying`) their live frames wait.
struct subscription {
  std::string key;
  std::int64_t user = 0;
  std::int64_t last = 0;
  bool replaying = false;
};

// What a connection needs only until its stream is open (freed then).
struct handshake {
  request req;
  bhttp::request<bhttp::string_body> upgrade;  // WebSocket: the request to accept
  std::optional<stream_spec> initial;
  std::optional<std::pair<int, std::string>> pending_error;
  std::string protocol;  // the token came as Sec-WebSocket-Protocol: echoed in the handshake
  std::int64_t since = -1;
  std::string remote;
};

// What both transports share: authentication, subscriptions, resume and the
// bounded send queue. Every method runs on the connection's strand.
class conn : public client {
public:
  conn(std::shared_ptr<stream_gateway> gw, net::any_io_executor ex) : gw_(std::move(gw)), ex_(std::move(ex)) {}

  const net::any_io_executor& executor() const { return ex_; }

  // Frames wait in the inbox; only the first of a batch costs a post to the
  // strand, which then takes all that arrived meanwhile.
  void offer(std::shared_ptr<const frame> f) override {
    bool first;
    {
      spin_guard g(inbox_lock_);
      first = inbox_.empty() && !inbox_overflow_;
      if (inbox_.size() >= static_cast<std::size_t>(gw_->cfg.send_queue)) {
        inbox_.clear();  // the strand is that far behind: the client gets `refetch`
        inbox_overflow_ = true;
      } else {
        inbox_.push_back(std::move(f));
      }
    }
    if (first)
      net::post(ex_, [self = std::static_pointer_cast<conn>(shared_from_this())] { self->drain_inbox(); });
  }

  // Authenticates the request, then opens the stream (open()).
  void begin(request req, bhttp::request<bhttp::string_body>&& upgrade) {
    hs_ = std::make_unique<handshake>();
    hs_->req = std::move(req);
    hs_->upgrade = std::move(upgrade);
    hs_->remote = hs_->req.remote_ip;
    auto& req_ = hs_->req;
    auto& svc = gw_->svc;
    auto limit = gw_->cfg.max_connections;
    if (limit > 0 && gw_->hub->connections.load() >= limit)
      return refuse(503, "Too many streaming connections");
    counted_ = true;
    ++gw_->hub->connections;
    if (gw_->open_gauge)
      gw_->open_gauge->add(1);
    auto q = req_.query();
    std::string token;
    if (auto it = q.find("access_token"); it != q.end())
      token = it->second;
    if (token.empty())
      if (auto h = req_.header("authorization"); h && h->size() > 7) {
        auto scheme = lower_copy(std::string(h->substr(0, 7)));
        if (scheme == "bearer ") {
          token = std::string(h->substr(7));
          while (!token.empty() && token.front() == ' ')
            token.erase(token.begin());
        }
      }
    if (token.empty() && websocket_)
      if (auto h = req_.header("sec-websocket-protocol"); h && !h->empty()) {
        token = std::string(*h);
        if (auto comma = token.find(','); comma != std::string::npos)
          token = token.substr(0, comma);
        while (!token.empty() && token.back() == ' ')
          token.pop_back();
        hs_->protocol = token;
      }
    if (token.empty())
      return refuse(401, "Missing access token");
    if (token.size() > 512)
      return refuse(401, "Invalid access token");
    if (svc.tokens)
      if (auto ctx = svc.tokens->find(crypto::sha256_hex(token)))
        return on_auth(*ctx);
    auto self = std::static_pointer_cast<conn>(shared_from_this());
    auto timeout = std::chrono::milliseconds(svc.cfg ? svc.cfg->http.request_timeout_ms : 10'000);
    svc.system->spawn([self, oauth = svc.oauth, token, timeout](caf::event_based_actor* a) {
      a->request(oauth, timeout, actors::bearer{token})
        .then(
          [self](const actors::auth_context& ctx) {
            net::post(self->ex_, [self, ctx] { self->on_auth(ctx); });
          },
          [self](caf::error& err) {
            auto code = actors::code_of(err);
            net::post(self->ex_, [self, code] {
              if (code == errc::unauthorized || code == errc::not_found || code == errc::forbidden)
                self->refuse(401, "Invalid access token");
              else
                self->refuse(503, "Service unavailable");
            });
          });
    });
  }

protected:
  virtual void open() = 0;                                    // authenticated: upgrade or send the SSE head
  // One gathered write of the frames in order; then written(ec).
  virtual void transmit(const std::vector<std::shared_ptr<const frame>>& frames) = 0;
  virtual void send_raw_and_close(std::string text) = 0;      // an HTTP answer before the stream opened
  virtual void close_transport() = 0;
  // At a heartbeat: the client has not been heard from for too long (WebSocket).
  virtual bool silent_too_long() const { return false; }

  static std::string lower_copy(std::string s) {
    for (auto& c : s)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  void refuse(int status, const std::string& error) {
    if (closed_)
      return;
    log::write(log::level::info, "stream refused",
               {{"status", status}, {"error", error}, {"path", hs_ ? hs_->req.path : std::string()},
                {"remote", hs_ ? hs_->remote : std::string()}});
    send_raw_and_close(http_error(status, error));
  }

  void on_auth(const actors::auth_context& ctx) {
    if (closed_ || !hs_)
      return;
    auto& req_ = hs_->req;
    read_statuses_ = scopes::allows(ctx.scopes, "read:statuses");
    read_notifications_ = scopes::allows(ctx.scopes, "read:notifications");
    viewer_ = ctx.account_id;
    // The stream named by the request (SSE: the path; WebSocket: ?stream=, optional).
    auto q = req_.query();
    std::string name = websocket_ && q.count("stream") ? q["stream"] : stream_of_path(req_.path);
    if (!websocket_ || !name.empty()) {
      auto spec = parse_stream(name, q, viewer_.value());
      if (auto err = check(spec); !err.first) {
        if (!websocket_)
          return refuse(err.second.first, err.second.second);
        hs_->pending_error = err.second;
      } else {
        hs_->initial = spec;
      }
    }
    std::string since;
    if (websocket_) {
      if (auto it = q.find("since"); it != q.end())
        since = it->second;
    } else if (auto h = req_.header("last-event-id")) {
      since = std::string(*h);
    }
    if (!since.empty()) {
      auto v = parse_seq(since);
      if (!v)
        return refuse(400, websocket_ ? "Invalid since" : "Invalid Last-Event-ID");
      hs_->since = *v;
    }
    if (!viewer_.value())
      return open();
    gw_->hub->add_viewer(viewer_);
    viewer_added_ = true;
    // The viewer's blocks and mutes are known before any event is delivered.
    auto self = std::static_pointer_cast<conn>(shared_from_this());
    caf::anon_send(gw_->streams, actors::viewer_hidden{viewer_, [self](const std::vector<std::int64_t>* hidden) {
                     auto copy = hidden ? std::make_shared<std::vector<std::int64_t>>(*hidden) : nullptr;
                     net::post(self->ex_, [self, copy] {
                       if (self->closed_)
                         return;
                       if (!copy)
                         return self->refuse(503, "Service unavailable");
                       self->gw_->hub->set_hidden(self->viewer_, *copy);
                       self->open();
                     });
                   }});
  }

  // ok, or (status, error) as Mastodon answers it.
  std::pair<bool, std::pair<int, std::string>> check(const stream_spec& spec) const {
    if (spec.status)
      return {false, {spec.status, spec.error}};
    if (!(spec.scope == "read:notifications" ? read_notifications_ : read_statuses_))
      return {false, {401, "Access token does not have the required scopes"}};
    if (spec.needs_user && !viewer_.value())
      return {false, {401, "This stream requires a user's access token"}};
    return {true, {}};
  }

  void subscribe(const stream_spec& spec, std::int64_t since) {
    for (auto& s : subs_)
      if (s.key == spec.key)
        return;  // already subscribed (Mastodon ignores it too)
    subs_.push_back({spec.key, spec.user, since > 0 ? since : 0, spec.user && since >= 0});
    gw_->hub->subscribe(spec.key, shared_from_this(), viewer_);
    if (!spec.user)
      return;
    auto self = std::static_pointer_cast<conn>(shared_from_this());
    auto key = spec.key;
    caf::anon_send(gw_->streams,
                   actors::stream_watch{account_id{spec.user}, true, since,
                                        [self, key](const actors::outbox_replay* r, const caf::error*) {
                                          auto copy = r ? std::make_shared<actors::outbox_replay>(*r)
                                                        : std::make_shared<actors::outbox_replay>();
                                          net::post(self->ex_, [self, key, copy] { self->on_replay(key, *copy); });
                                        }});
  }

  void unsubscribe(const std::string& key) {
    auto it = std::find_if(subs_.begin(), subs_.end(), [&](const subscription& s) { return s.key == key; });
    if (it == subs_.end())
      return;
    gw_->hub->unsubscribe(key, this);
    if (it->user)
      caf::anon_send(gw_->streams, actors::stream_watch{account_id{it->user}, false, -1, nullptr});
    subs_.erase(it);
  }

  void on_replay(const std::string& key, actors::outbox_replay& r) {
    auto it = std::find_if(subs_.begin(), subs_.end(), [&](const subscription& s) { return s.key == key; });
    if (closed_ || it == subs_.end() || !it->replaying)
      return;
    auto& sub = *it;
    if (r.refetch) {
      push(refetch_frame("gap"));
    } else {
      auto name = key.substr(0, key.find('@'));
      for (auto& e : r.events) {
        if (e.seq <= sub.last)
          continue;
        sub.last = e.seq;
        if (std::find(e.streams.begin(), e.streams.end(), name) == e.streams.end())
          continue;
        if (e.from.value() && e.from != viewer_ && gw_->hub->hides(viewer_, e.from))
          continue;
        push(render(key, e.ev.event, e.ev.payload, e.seq));
      }
    }
    sub.last = std::max(sub.last, r.last);
    sub.replaying = false;
    if (held_overflow_) {
      held_overflow_ = false;
      held_.clear();
      return push(refetch_frame("overflow"));
    }
    // Live frames that arrived meanwhile: those after the replay, in order.
    std::vector<std::shared_ptr<const frame>> rest;
    for (auto& f : held_) {
      if (f->key != key) {
        rest.push_back(f);
        continue;
      }
      if (f->seq > sub.last) {
        sub.last = f->seq;
        push(f);
      }
    }
    held_.swap(rest);
  }

  void drain_inbox() {
    std::vector<std::shared_ptr<const frame>> got;
    bool overflow;
    {
      spin_guard g(inbox_lock_);
      got.swap(inbox_);
      overflow = inbox_overflow_;
      inbox_overflow_ = false;
    }
    if (overflow)
      overflowed();
    for (auto& f : got)
      on_frame(std::move(f));
  }

  void on_frame(std::shared_ptr<const frame> f) {
    if (closed_ || !open_)
      return;
    if (f->key.empty() || f->key[0] == '*') {  // heartbeats
      if (silent_too_long())
        return close();
      return push(std::move(f));
    }
    auto it = std::find_if(subs_.begin(), subs_.end(), [&](const subscription& s) { return s.key == f->key; });
    if (it == subs_.end())
      return;  // unsubscribed meanwhile
    if (it->user) {
      if (it->replaying) {
        if (held_.size() < static_cast<std::size_t>(gw_->cfg.send_queue))
          held_.push_back(std::move(f));
        else
          held_overflow_ = true;  // too much arrived during the replay: `refetch` after it
        return;
      }
      if (f->seq <= it->last)
        return;  // already sent (a replay covered it)
      it->last = f->seq;
    }
    push(std::move(f));
  }

  // The bounded send queue: a client that falls behind by send_queue frames
  // loses them and gets one `refetch` event instead.
  void push(std::shared_ptr<const frame> f) {
    if (closed_)
      return;
    if (queue_.size() - head_ >= static_cast<std::size_t>(gw_->cfg.send_queue))
      return overflowed();
    queue_.push_back(std::move(f));
    if (!writing_) {
      // The first frame of a burst waits one turn of the I/O queue: the frames
      // offered meanwhile (the same event on other streams, the next events of a
      // burst) leave in the same gathered write.
      writing_ = true;
      net::post(ex_, [self = std::static_pointer_cast<conn>(shared_from_this())] { self->next_write(); });
    }
  }

  // The client fell behind by send_queue frames: what waits is dropped and it
  // gets one `refetch` instead.
  void overflowed() {
    if (closed_)
      return;
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(head_), queue_.end());
    queue_.push_back(refetch_frame("overflow"));
    ++overflows_;
    if (overflows_ == 1 || overflows_ % 100 == 0)
      log::write(log::level::warn, "stream: slow consumer, send queue dropped",
                 {{"viewer", viewer_.value()}, {"overflows", overflows_}});
    if (!writing_) {
      writing_ = true;
      net::post(ex_, [self = std::static_pointer_cast<conn>(shared_from_this())] { self->next_write(); });
    }
  }

  void next_write() {
    if (closing_ && head_ == queue_.size())
      return close();
    if (closed_ || head_ == queue_.size()) {
      writing_ = false;
      queue_.clear();
      head_ = 0;
      if (queue_.capacity() > 8)  // an idle connection keeps no large queue
        std::vector<std::shared_ptr<const frame>>().swap(queue_);
      return;
    }
    writing_ = true;
    // Everything queued leaves in one gathered write, up to a bound.
    std::size_t bytes = 0;
    while (head_ < queue_.size() && inflight_.size() < max_gather && bytes < max_gather_bytes) {
      bytes += queue_[head_]->ws.size();
      inflight_.push_back(std::move(queue_[head_++]));
    }
    transmit(inflight_);
  }

  void written(beast::error_code ec) {
    inflight_.clear();
    if (inflight_.capacity() > 8)
      std::vector<std::shared_ptr<const frame>>().swap(inflight_);
    if (ec)
      return close();
    next_write();
  }

  void close() {
    if (closed_)
      return;
    closed_ = true;
    auto keys = subs_;
    for (auto& s : keys)
      unsubscribe(s.key);
    queue_.clear();
    head_ = 0;
    held_.clear();
    {
      spin_guard g(inbox_lock_);
      inbox_.clear();
    }
    hs_.reset();
    if (viewer_added_)
      gw_->hub->remove_viewer(viewer_);
    viewer_added_ = false;
    if (counted_) {
      --gw_->hub->connections;
      if (gw_->open_gauge)
        gw_->open_gauge->add(-1);
    }
    counted_ = false;
    close_transport();
  }

  std::shared_ptr<stream_gateway> gw_;
  net::any_io_executor ex_;
  std::unique_ptr<handshake> hs_;  // until the stream is open
  account_id viewer_;
  std::vector<subscription> subs_;
  std::vector<std::shared_ptr<const frame>> queue_;  // a FIFO from head_
  std::size_t head_ = 0;
  std::vector<std::shared_ptr<const frame>> held_;
  std::vector<std::shared_ptr<const frame>> inflight_;  // being written
  struct spin_guard {  // the inbox is held for a push or a swap only
    explicit spin_guard(std::atomic_flag& f) : f_(f) {
      while (f_.test_and_set(std::memory_order_acquire)) {
      }
    }
    ~spin_guard() { f_.clear(std::memory_order_release); }
    std::atomic_flag& f_;
  };
  std::atomic_flag inbox_lock_ = ATOMIC_FLAG_INIT;
  bool inbox_overflow_ = false;                        // under inbox_lock_
  std::vector<std::shared_ptr<const frame>> inbox_;   // offered, not yet taken by the strand
  static constexpr std::size_t max_gather = 64;           // frames per write (IOV_MAX is 1024: two buffers each)
  static constexpr std::size_t max_gather_bytes = 256 * 1024;
  std::uint32_t overflows_ = 0;
  bool held_overflow_ = false;
  bool read_statuses_ = false;
  bool read_notifications_ = false;
  bool websocket_ = false;
  bool writing_ = false;
  bool open_ = false;
  bool closed_ = false;
  bool closing_ = false;  // close once the queue is written
  bool counted_ = false;
  bool viewer_added_ = false;
};

// ---- WebSocket ---------------------------------------------------------------

// RFC 6455, server side, on the connection's TCP stream: the handshake, client
// frames parsed from a 64-byte read buffer (text messages up to 64 KB, ping,
// pong, close; masking required), and server frames written as a header of
// 2–10 bytes gathered with the shared frame text (no copy per connection).
// Beast's websocket stream keeps ~1.5 KB of read buffer and a timer per
// connection and prepares a dynamic buffer for every pending read; this
// connection keeps neither (docs/architecture.md, "streams").
class ws_conn final : public conn {
public:
  ws_conn(std::shared_ptr<stream_gateway> gw, beast::tcp_stream&& s)
    : conn(std::move(gw), s.get_executor()), stream_(std::move(s)) {
    websocket_ = true;
  }

private:
  static constexpr std::size_t max_message = 64 * 1024;

  void open() override {
    auto& up = hs_->upgrade;
    auto key = up[bhttp::field::sec_websocket_key];
    if (up[bhttp::field::sec_websocket_version] != "13" || key.empty() || key.size() > 64)
      return refuse(400, "Bad WebSocket handshake");
    websocket::detail::sec_ws_accept_type accept;
    websocket::detail::make_sec_ws_accept(accept, key);
    std::string res = "HTTP/1.1 101 Switching Protocols\r\nServer: chorus\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: " + std::string(accept.data(), accept.size()) + "\r\n";
    if (!hs_->protocol.empty())
      res += "Sec-WebSocket-Protocol: " + hs_->protocol + "\r\n";
    res += "\r\n";
    stream_.expires_never();
    open_ = true;
    auto hs = std::move(hs_);
    push(control_frame(res, {}, true));
    gw_->hub->subscribe("*ws", shared_from_this(), account_id{});  // pings
    if (hs->pending_error)
      push(error_frame(hs->pending_error->second, hs->pending_error->first));
    if (hs->initial)
      subscribe(*hs->initial, hs->since);
    read();
  }

  void read() {
    auto self = std::static_pointer_cast<ws_conn>(shared_from_this());
    stream_.async_read_some(net::buffer(rbuf_ + rlen_, sizeof(rbuf_) - rlen_),
                            [self](beast::error_code ec, std::size_t n) {
                              if (ec)
                                return self->close();
                              self->rlen_ += static_cast<std::uint8_t>(n);
                              self->heard_ = std::chrono::steady_clock::now();
                              self->parse();
                              if (!self->closed_ && !self->closing_)
                                self->read();
                            });
  }

  void consume(std::size_t n) {
    std::memmove(rbuf_, rbuf_ + n, rlen_ - n);
    rlen_ = static_cast<std::uint8_t>(rlen_ - n);
  }

  // Parses what rbuf_ holds; payload bytes are unmasked into message_ (or
  // control_ for control frames) as they arrive.
  void parse() {
    while (!closed_ && !closing_) {
      if (remaining_ == 0 && !in_payload_) {
        if (rlen_ < 2)
          return;
        auto b0 = static_cast<std::uint8_t>(rbuf_[0]), b1 = static_cast<std::uint8_t>(rbuf_[1]);
        std::size_t need = 2 + ((b1 & 0x7f) == 126 ? 2 : (b1 & 0x7f) == 127 ? 8 : 0) + 4;
        if (!(b1 & 0x80))
          return fail(1002, "Client frames must be masked");
        if (rlen_ < need)
          return;
        std::uint64_t len = b1 & 0x7f;
        std::size_t at = 2;
        if (len == 126) {
          len = (std::uint64_t(std::uint8_t(rbuf_[2])) << 8) | std::uint8_t(rbuf_[3]);
          at = 4;
        } else if (len == 127) {
          len = 0;
          for (int i = 0; i < 8; ++i)
            len = (len << 8) | std::uint8_t(rbuf_[2 + i]);
          at = 10;
        }
        op_ = b0 & 0x0f;
        fin_ = (b0 & 0x80) != 0;
        bool control = op_ & 0x08;
        if (control && (len > 125 || !fin_))
          return fail(1002, "Bad control frame");
        if (!control && message_.size() + len > max_message)
          return fail(1009, "Message too long");
        std::memcpy(mask_, rbuf_ + at, 4);
        consume(need);
        remaining_ = len;
        masked_at_ = 0;
        in_payload_ = true;
        if (control)
          control_.clear();
        else if (op_ != 0)
          data_op_ = op_;
      }
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rlen_));
      if (n == 0 && remaining_ > 0)
        return;
      auto& out = (op_ & 0x08) ? control_ : message_;
      for (std::size_t i = 0; i < n; ++i)
        out.push_back(static_cast<char>(rbuf_[i] ^ mask_[(masked_at_ + i) & 3]));
      masked_at_ += n;
      remaining_ -= n;
      consume(n);
      if (remaining_ > 0)
        return;
      in_payload_ = false;
      on_frame_done();
    }
  }

  void on_frame_done() {
    switch (op_) {
      case 0x8: {  // close: answer it and hang up
        std::string c = "\x88";
        c.push_back(static_cast<char>(std::min<std::size_t>(control_.size(), 125)));
        c += control_.substr(0, 125);
        push(control_frame(c, {}, true));
        return close_after_queue();
      }
      case 0x9: {  // ping → pong with its payload
        std::string c = "\x8a";
        c.push_back(static_cast<char>(control_.size()));
        c += control_;
        return push(control_frame(c, {}, true));
      }
      case 0xa: return;  // pong
      default: break;
    }
    if (!fin_)
      return;
    std::string text;
    text.swap(message_);
    if (data_op_ == 0x1)
      on_message(text);
    else
      push(error_frame("Invalid message", 400));  // binary
  }

  // A protocol error: a close frame with the code, then hang up.
  void fail(std::uint16_t code, const char* why) {
    std::string c = "\x88";
    std::string reason = why;
    c.push_back(static_cast<char>(2 + reason.size()));
    c.push_back(static_cast<char>(code >> 8));
    c.push_back(static_cast<char>(code & 0xff));
    c += reason;
    push(control_frame(c, {}, true));
    close_after_queue();
  }

  // Lets the queued frames go out, then closes (at most 5 s).
  void close_after_queue() {
    stream_.expires_after(std::chrono::seconds(5));
    closing_ = true;
    if (!writing_)
      close();
  }

  // {"type":"subscribe"|"unsubscribe","stream":…,"tag":…,"list":…,"since":…}
  void on_message(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return push(error_frame("Invalid message", 400));
    auto str = [&](const char* k) -> std::string {
      auto it = j.find(k);
      if (it == j.end())
        return {};
      if (it->is_string())
        return it->get<std::string>();
      if (it->is_number_integer())
        return std::to_string(it->get<std::int64_t>());
      return "\x01";  // present but not a string or integer: invalid
    };
    auto type = str("type");
    if (type != "subscribe" && type != "unsubscribe")
      return push(error_frame("Unknown message type", 400));
    std::map<std::string, std::string> params;
    for (const char* k : {"tag", "list", "only_media"}) {
      auto v = str(k);
      if (!v.empty())
        params[k] = v;
    }
    auto spec = parse_stream(str("stream"), params, viewer_.value());
    auto err = check(spec);
    if (!err.first)
      return push(error_frame(err.second.second, err.second.first));
    if (type == "unsubscribe")
      return unsubscribe(spec.key);
    std::int64_t since = -1;
    if (auto s = str("since"); !s.empty()) {
      auto v = parse_seq(s);
      if (!v)
        return push(error_frame("Invalid since", 400));
      since = *v;
    }
    subscribe(spec, since);
  }

  void transmit(const std::vector<std::shared_ptr<const frame>>& frames) override {
    auto self = std::static_pointer_cast<ws_conn>(shared_from_this());
    // The frame headers of the batch (at most 10 bytes each), then the buffers.
    auto hdrs = std::make_unique<std::uint8_t[]>(frames.size() * 10);
    std::vector<net::const_buffer> bufs;
    bufs.reserve(frames.size() * 2);
    std::uint8_t* h0 = hdrs.get();
    for (auto& f : frames) {
      if (f->control) {
        bufs.push_back(net::buffer(f->ws));
        continue;
      }
      auto n = f->ws.size();
      std::uint8_t* h = h0;
      *h++ = 0x81;  // FIN, text
      if (n < 126) {
        *h++ = static_cast<std::uint8_t>(n);
      } else if (n <= 0xffff) {
        *h++ = 126;
        *h++ = static_cast<std::uint8_t>(n >> 8);
        *h++ = static_cast<std::uint8_t>(n);
      } else {
        *h++ = 127;
        for (int i = 7; i >= 0; --i)
          *h++ = static_cast<std::uint8_t>(std::uint64_t(n) >> (8 * i));
      }
      bufs.push_back(net::buffer(h0, static_cast<std::size_t>(h - h0)));
      bufs.push_back(net::buffer(f->ws));
      h0 = h;
    }
    net::async_write(stream_, bufs, [self, hdrs = std::move(hdrs)](beast::error_code ec, std::size_t) {
      self->written(ec);
    });
  }

  void send_raw_and_close(std::string text) override {
    close();
    auto self = std::static_pointer_cast<ws_conn>(shared_from_this());
    auto buf = std::make_shared<std::string>(std::move(text));
    stream_.expires_after(std::chrono::seconds(10));
    net::async_write(stream_, net::buffer(*buf), [self, buf](beast::error_code, std::size_t) {
      beast::error_code ec;
      self->stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
      self->stream_.close();
    });
  }

  // Pings go out every heartbeat_ms; a client that answers none (nor sends
  // anything else) for twice that is gone.
  bool silent_too_long() const override {
    return std::chrono::steady_clock::now() - heard_ > std::chrono::milliseconds(2 * gw_->cfg.heartbeat_ms);
  }

  void close_transport() override {
    gw_->hub->unsubscribe("*ws", this);
    if (open_)
      stream_.close();
  }

  beast::tcp_stream stream_;
  std::chrono::steady_clock::time_point heard_ = std::chrono::steady_clock::now();
  std::string message_;  // the text message being received
  std::string control_;  // the control frame being received
  std::uint64_t remaining_ = 0;  // payload bytes of the current frame still to come
  std::uint32_t masked_at_ = 0;
  char rbuf_[64];
  std::uint8_t rlen_ = 0;
  std::uint8_t mask_[4];
  std::uint8_t op_ = 0, data_op_ = 1;
  bool fin_ = true;
  bool in_payload_ = false;
};

// ---- Server-sent events -----------------------------------------------------------

class sse_conn final : public conn {
public:
  sse_conn(std::shared_ptr<stream_gateway> gw, beast::tcp_stream&& s)
    : conn(std::move(gw), s.get_executor()), stream_(std::move(s)) {}

private:
  void open() override {
    open_ = true;
    stream_.expires_never();
    push(control_frame({}, "HTTP/1.1 200 OK\r\nServer: chorus\r\nContent-Type: text/event-stream\r\n"
                           "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\nConnection: close\r\n\r\n"
                           ":)\n\n"));
    gw_->hub->subscribe("*sse", shared_from_this(), account_id{});  // heartbeats
    auto hs = std::move(hs_);
    subscribe(*hs->initial, hs->since);
    watch_close();
  }

  // The client sends nothing: a read ends when it goes away.
  void watch_close() {
    auto self = std::static_pointer_cast<sse_conn>(shared_from_this());
    stream_.async_read_some(net::buffer(sink_), [self](beast::error_code ec, std::size_t) {
      if (ec)
        return self->close();
      self->watch_close();
    });
  }

  void transmit(const std::vector<std::shared_ptr<const frame>>& frames) override {
    auto self = std::static_pointer_cast<sse_conn>(shared_from_this());
    std::vector<net::const_buffer> bufs;
    bufs.reserve(frames.size());
    for (auto& f : frames)
      bufs.push_back(net::buffer(f->sse));
    net::async_write(stream_, bufs, [self](beast::error_code ec, std::size_t) { self->written(ec); });
  }

  void send_raw_and_close(std::string text) override {
    close();
    auto self = std::static_pointer_cast<sse_conn>(shared_from_this());
    auto buf = std::make_shared<std::string>(std::move(text));
    stream_.expires_after(std::chrono::seconds(10));
    net::async_write(stream_, net::buffer(*buf), [self, buf](beast::error_code, std::size_t) {
      beast::error_code ec;
      self->stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
      self->stream_.close();
    });
  }

  void close_transport() override {
    gw_->hub->unsubscribe("*sse", this);
    if (open_)
      stream_.close();
  }

  beast::tcp_stream stream_;
  char sink_[64];
};

} // namespace

stream_gateway::stream_gateway(const actors::services& s, const streaming_config& c) : svc(s), cfg(c) {
  // After an unblock or unmute a viewer's hidden set is read again (the
  // hub holds the function, so it refers to the hub weakly).
  streams = caf::actor_cast<actors::streams_node_actor>(svc.streams);
  if (svc.metrics)
    open_gauge = &svc.metrics->get_gauge("chorus_stream_connections",
                                         "Open streaming connections (WebSocket and SSE; not in chorus_http_connections)");
  auto wh = std::make_shared<std::weak_ptr<streaming::hub>>();
  hub = std::make_shared<streaming::hub>([streams = streams, wh](account_id viewer) {
    auto weak = *wh;
    caf::anon_send(streams, actors::viewer_hidden{viewer, [weak, viewer](const std::vector<std::int64_t>* hidden) {
                     if (auto h = weak.lock(); h && hidden)
                       h->set_hidden(viewer, *hidden);
                   }});
  });
  *wh = hub;
  thump_ = std::make_shared<frame>();
  auto t = std::const_pointer_cast<frame>(thump_);
  t->key = "*sse";
  t->sse = ":thump\n\n";
  auto ping = std::make_shared<frame>();
  ping->key = "*ws";
  ping->ws = std::string("\x89\x00", 2);
  ping->control = true;
  ping_ = ping;
}

stream_gateway::~stream_gateway() = default;

std::pair<std::size_t, std::size_t> stream_gateway::connection_sizes() { return {sizeof(ws_conn), sizeof(sse_conn)}; }

bool stream_gateway::wants(const std::string& path) {
  return (path == "/api/v1/streaming" || path.rfind("/api/v1/streaming/", 0) == 0) &&
         path != "/api/v1/streaming/health";
}

void stream_gateway::take(beast::tcp_stream&& stream, beast::flat_buffer&& buffer,
                          bhttp::request<bhttp::string_body>&& breq, request&& req) {
  beast::error_code ec;
  // Frames go out as they come (no Nagle delay behind an unacknowledged one).
  stream.socket().set_option(net::ip::tcp::no_delay(true), ec);
  if (cfg.send_buffer > 0)
    stream.socket().set_option(net::socket_base::send_buffer_size(cfg.send_buffer), ec);
  std::shared_ptr<conn> c;
  if (websocket::is_upgrade(breq)) {
    c = std::make_shared<ws_conn>(shared_from_this(), std::move(stream));
  } else {
    c = std::make_shared<sse_conn>(shared_from_this(), std::move(stream));
    if (req.path == "/api/v1/streaming") {  // SSE on the bare path: ?stream= names it
      auto q = req.query();
      auto name = q.count("stream") ? q["stream"] : std::string();
      static const std::map<std::string, std::string> to_path = {
        {"user", "/user"}, {"user:notification", "/user/notification"}, {"public", "/public"},
        {"public:local", "/public/local"}, {"public:remote", "/public/remote"}, {"public:media", "/public/media"},
        {"public:local:media", "/public/local/media"}, {"public:remote:media", "/public/remote/media"},
        {"hashtag", "/hashtag"}, {"hashtag:local", "/hashtag/local"}, {"list", "/list"}, {"direct", "/direct"}};
      auto it = to_path.find(name);
      req.path = "/api/v1/streaming" + (it == to_path.end() ? std::string("/unknown") : it->second);
    }
  }
  (void)buffer;  // a client sends nothing before the handshake's answer
  net::post(c->executor(), [c, req = std::move(req), breq = std::move(breq)]() mutable {
    c->begin(std::move(req), std::move(breq));
  });
}

void stream_gateway::start(net::io_context& ioc) {
  timer_.emplace(ioc);
  heartbeat();
}

void stream_gateway::heartbeat() {
  if (!timer_)
    return;
  timer_->expires_after(std::chrono::milliseconds(cfg.heartbeat_ms));
  timer_->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec)
      return;
    self->hub->broadcast("*sse", self->thump_);
    self->hub->broadcast("*ws", self->ping_);
    self->heartbeat();
  });
}

void stream_gateway::stop() {
  if (timer_)
    net::post(timer_->get_executor(), [self = shared_from_this()] {
      if (self->timer_)
        self->timer_->cancel();
    });
}

std::shared_ptr<stream_gateway> make_streaming(const actors::services& svc, const streaming_config& cfg) {
  auto gw = std::make_shared<stream_gateway>(svc, cfg);
  if (gw->streams)
    caf::anon_send(gw->streams, actors::stream_sink_install{gw->hub});
  return gw;
}

} // namespace chorus::http
