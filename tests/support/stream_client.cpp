#include "support/stream_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <deque>
#include <optional>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <atomic>
#include <map>
#include <sys/socket.h>

namespace chorus::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

std::int64_t stream_event::seq() const {
  if (frame.contains("seq") && frame["seq"].is_number_integer())
    return frame["seq"].get<std::int64_t>();
  if (frame.contains("id") && frame["id"].is_string())
    return std::stoll(frame["id"].get<std::string>());
  return 0;
}

struct stream_client::impl {
  net::io_context ioc;
  tcp::socket sock{ioc};
  std::unique_ptr<websocket::stream<tcp::socket&>> ws;
  std::map<std::string, std::string> headers;
  mutable std::mutex mtx;
  mutable std::condition_variable cv;
  std::vector<stream_event> events;
  std::vector<bool> matched;  // events a wait_for already returned
  bool paused = false;
  bool done = false;
  std::thread reader;
  // WebSocket: every operation runs on the io thread (a Beast stream takes one
  // read and one write at a time, from one thread).
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  beast::flat_buffer rbuf;
  bool reading = false;
  std::deque<std::string> outq;

  void add(nlohmann::json j) {
    std::lock_guard<std::mutex> g(mtx);
    events.push_back({std::move(j)});
    matched.push_back(false);
    cv.notify_all();
  }
  void finish() {
    std::lock_guard<std::mutex> g(mtx);
    done = true;
    cv.notify_all();
  }
  void wait_unpaused() {
    std::unique_lock<std::mutex> l(mtx);
    cv.wait(l, [&] { return !paused || done; });
  }

  // io thread only.
  void read_ws() {
    {
      std::lock_guard<std::mutex> g(mtx);
      if (paused || done) {
        reading = false;
        return;
      }
    }
    reading = true;
    ws->async_read(rbuf, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        reading = false;
        finish();
        work.reset();
        return;
      }
      auto text = beast::buffers_to_string(rbuf.data());
      rbuf.consume(rbuf.size());
      auto j = nlohmann::json::parse(text, nullptr, false);
      add(j.is_discarded() ? nlohmann::json{{"raw", text}} : j);
      read_ws();
    });
  }
  void write_ws() {
    if (outq.empty())
      return;
    ws->async_write(net::buffer(outq.front()), [this](beast::error_code ec, std::size_t) {
      outq.pop_front();
      if (!ec)
        write_ws();
    });
  }

  // SSE: events separated by blank lines; `data:` lines joined by "\n".
  void read_sse(std::string pending) {
    char chunk[4096];
    for (;;) {
      std::size_t pos;
      while ((pos = pending.find("\n\n")) != std::string::npos) {
        auto block = pending.substr(0, pos);
        pending.erase(0, pos + 2);
        nlohmann::json j = nlohmann::json::object();
        std::string data;
        bool has_data = false;
        std::size_t b = 0;
        while (b <= block.size()) {
          auto e = block.find('\n', b);
          if (e == std::string::npos)
            e = block.size();
          auto line = block.substr(b, e - b);
          b = e + 1;
          if (line.empty())
            continue;
          if (line[0] == ':') {
            j["comment"] = line.substr(1);
            continue;
          }
          auto colon = line.find(':');
          auto field = line.substr(0, colon);
          auto value = colon == std::string::npos ? std::string() : line.substr(colon + 1);
          if (!value.empty() && value[0] == ' ')
            value.erase(0, 1);
          if (field == "data") {
            if (has_data)
              data += "\n";
            data += value;
            has_data = true;
          } else if (field == "event" || field == "id") {
            j[field] = value;
          }
        }
        if (has_data)
          j["payload"] = data;
        add(j);
      }
      wait_unpaused();
      beast::error_code ec;
      auto n = sock.read_some(net::buffer(chunk), ec);
      if (ec)
        break;
      pending.append(chunk, n);
    }
    finish();
  }
};

stream_client::stream_client(std::uint16_t port, const std::string& target, options opts)
  : impl_(std::make_shared<impl>()) {
  auto& i = *impl_;
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
  i.sock.open(tcp::v4());
  if (opts.rcvbuf > 0)
    i.sock.set_option(net::socket_base::receive_buffer_size(opts.rcvbuf));
  i.sock.connect(ep);
  i.sock.set_option(tcp::no_delay(true));
  auto host = "127.0.0.1:" + std::to_string(port);
  if (opts.websocket) {
    i.ws = std::make_unique<websocket::stream<tcp::socket&>>(i.sock);
    i.ws->set_option(websocket::stream_base::decorator([opts](websocket::request_type& req) {
      for (auto& h : opts.headers) {
        auto c = h.find(':');
        auto v = h.substr(c + 1);
        while (!v.empty() && v[0] == ' ')
          v.erase(0, 1);
        req.set(h.substr(0, c), v);
      }
      if (!opts.subprotocol.empty())
        req.set(beast::http::field::sec_websocket_protocol, opts.subprotocol);
    }));
    i.ws->read_message_max(16 * 1024 * 1024);
    websocket::response_type res;
    beast::error_code ec;
    i.ws->handshake(res, host, target, ec);
    status_ = static_cast<int>(res.result_int());
    body_ = res.body();
    for (auto& f : res)
      i.headers[std::string(f.name_string())] = std::string(f.value());
    if (ec) {
      if (status_ == 101)
        status_ = 0;
      i.done = true;
      return;
    }
    i.work.emplace(i.ioc.get_executor());
    net::post(i.ioc, [p = impl_.get()] { p->read_ws(); });
    i.reader = std::thread([p = impl_] { p->ioc.run(); });
    return;
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: text/event-stream\r\n";
  for (auto& h : opts.headers)
    req += h + "\r\n";
  req += "\r\n";
  net::write(i.sock, net::buffer(req));
  std::string got;
  char chunk[4096];
  std::size_t end;
  while ((end = got.find("\r\n\r\n")) == std::string::npos) {
    beast::error_code ec;
    auto n = i.sock.read_some(net::buffer(chunk), ec);
    if (ec) {
      i.done = true;
      return;
    }
    got.append(chunk, n);
  }
  auto head = got.substr(0, end);
  auto rest = got.substr(end + 4);
  auto sp = head.find(' ');
  status_ = std::stoi(head.substr(sp + 1, 3));
  std::size_t b = head.find("\r\n") + 2;
  while (b < head.size()) {
    auto e = head.find("\r\n", b);
    if (e == std::string::npos)
      e = head.size();
    auto line = head.substr(b, e - b);
    auto c = line.find(':');
    if (c != std::string::npos) {
      auto name = line.substr(0, c);
      for (auto& ch : name)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto v = line.substr(c + 1);
      while (!v.empty() && v[0] == ' ')
        v.erase(0, 1);
      i.headers[name] = v;
    }
    b = e + 2;
  }
  if (status_ != 200) {
    std::size_t len = i.headers.count("content-length") ? std::stoul(i.headers["content-length"]) : 0;
    while (rest.size() < len) {
      beast::error_code ec;
      auto n = i.sock.read_some(net::buffer(chunk), ec);
      if (ec)
        break;
      rest.append(chunk, n);
    }
    body_ = rest;
    i.done = true;
    return;
  }
  i.reader = std::thread([p = impl_, rest] { p->read_sse(rest); });
}

stream_client::~stream_client() { close(); }

std::string stream_client::response_header(const std::string& lower_name) const {
  for (auto& [k, v] : impl_->headers) {
    std::string l = k;
    for (auto& c : l)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (l == lower_name)
      return v;
  }
  return {};
}

void stream_client::send(const std::string& text) {
  if (!impl_->ws)
    return;
  net::post(impl_->ioc, [p = impl_.get(), text] {
    p->outq.push_back(text);
    if (p->outq.size() == 1)
      p->write_ws();
  });
}

void stream_client::subscribe(const std::string& stream, nlohmann::json extra) {
  extra["type"] = "subscribe";
  extra["stream"] = stream;
  send(extra.dump());
}

void stream_client::unsubscribe(const std::string& stream, nlohmann::json extra) {
  extra["type"] = "unsubscribe";
  extra["stream"] = stream;
  send(extra.dump());
}

bool stream_client::wait_for(const std::function<bool(const stream_event&)>& pred, std::chrono::milliseconds deadline) {
  auto& i = *impl_;
  std::unique_lock<std::mutex> l(i.mtx);
  auto until = std::chrono::steady_clock::now() + deadline;
  auto find = [&] {
    for (std::size_t k = 0; k < i.events.size(); ++k)
      if (!i.matched[k] && pred(i.events[k])) {
        i.matched[k] = true;
        return true;
      }
    return false;
  };
  for (;;) {
    if (find())
      return true;
    if (i.done)
      return false;
    if (i.cv.wait_until(l, until) == std::cv_status::timeout)
      return find();
  }
}

std::vector<stream_event> stream_client::events() const {
  std::lock_guard<std::mutex> g(impl_->mtx);
  return impl_->events;
}

std::vector<stream_event> stream_client::events(const std::string& name) const {
  std::vector<stream_event> out;
  for (auto& e : events())
    if (e.event() == name)
      out.push_back(e);
  return out;
}

bool stream_client::closed() const {
  std::lock_guard<std::mutex> g(impl_->mtx);
  return impl_->done;
}

bool stream_client::wait_closed(std::chrono::milliseconds deadline) const {
  std::unique_lock<std::mutex> l(impl_->mtx);
  return impl_->cv.wait_for(l, deadline, [&] { return impl_->done; });
}

void stream_client::pause() {
  std::lock_guard<std::mutex> g(impl_->mtx);
  impl_->paused = true;
}

void stream_client::resume() {
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    impl_->paused = false;
    impl_->cv.notify_all();
  }
  if (impl_->ws)
    net::post(impl_->ioc, [p = impl_.get()] {
      if (!p->reading)
        p->read_ws();
    });
}

void stream_client::close() {
  if (!impl_)
    return;
  {
    std::lock_guard<std::mutex> g(impl_->mtx);
    impl_->paused = false;
    impl_->cv.notify_all();
  }
  if (impl_->sock.is_open())
    ::shutdown(impl_->sock.native_handle(), SHUT_RDWR);
  if (impl_->ws) {
    net::post(impl_->ioc, [p = impl_.get()] {
      p->work.reset();
      if (!p->reading) {  // paused: no read will fail and end the loop
        beast::error_code ec;
        p->sock.close(ec);
        p->finish();
      }
    });
  }
  if (impl_->reader.joinable())
    impl_->reader.join();
  beast::error_code ec;
  impl_->sock.close(ec);
}

} // namespace chorus::test
