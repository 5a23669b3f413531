// bench/streaming: many WebSocket clients in one epoll loop, for the streaming
// benchmarks (docs/benchmarks.md, "streaming"). The same client runs against
// chorusd and against the Node `ws` baseline, so both sides are measured by the
// same code.
//
//   stream_clients --port P --path /api/v1/streaming?stream=public&access_token=T
//                  --connections N [--sources 127.0.0.2,127.0.0.3] [--mode idle|count|latency]
//                  [--expect K] [--hold-seconds S] [--timeout-seconds S]
//                  [--post-path /api/v1/statuses --post-token T --posts M] [--index-offset O]
//
// "{i}" in --path becomes each connection's index plus O (one token per user).
//
// idle:    opens N connections (at most 512 handshakes in flight), prints
//          "connected N", answers pings, holds them until stdin closes or
//          --hold-seconds pass, then prints "held N" (connections still open).
// count:   opens N connections, prints "ready", then counts data frames until
//          every connection has K of them (or the timeout); prints the frames,
//          the seconds from the first frame to the last and frames per second.
// latency: one connection; posts M public statuses one after another over HTTP
//          and times each POST until its `update` frame arrives; prints p50/p99.
//
// Server frames are not masked; our frames (pongs) are, as RFC 6455 requires.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <deque>
#include <cctype>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

struct options {
  int port = 0;
  std::string path = "/";
  std::size_t connections = 1;
  std::vector<std::string> sources{"127.0.0.1"};
  std::string mode = "idle";
  std::uint64_t expect = 1;
  double hold_seconds = 0;  // 0: until stdin closes
  double timeout_seconds = 120;
  std::string post_path = "/api/v1/statuses";
  std::string post_token;
  int posts = 200;
  std::size_t index_offset = 0;  // "{i}" in --path becomes the connection's index plus this
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "stream_clients: %s (%s)\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find(sep, start);
    if (end == std::string::npos)
      end = s.size();
    if (end > start)
      out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port") o.port = std::atoi(v.c_str());
    else if (k == "--path") o.path = v;
    else if (k == "--connections") o.connections = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--sources") o.sources = split(v, ',');
    else if (k == "--mode") o.mode = v;
    else if (k == "--expect") o.expect = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--hold-seconds") o.hold_seconds = std::atof(v.c_str());
    else if (k == "--timeout-seconds") o.timeout_seconds = std::atof(v.c_str());
    else if (k == "--post-path") o.post_path = v;
    else if (k == "--post-token") o.post_token = v;
    else if (k == "--posts") o.posts = std::atoi(v.c_str());
    else if (k == "--index-offset") o.index_offset = std::strtoull(v.c_str(), nullptr, 10);
    else die("unknown option " + k);
  }
  if (o.port <= 0)
    die("--port is required");
  return o;
}

int open_socket(const std::string& source, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    die("socket");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef IP_BIND_ADDRESS_NO_PORT
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);  // the port is chosen at connect, per 4-tuple
#endif
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &src.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0)
    die("bind " + source);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS)
    die("connect");
  return fd;
}

std::string upgrade_request(const options& o, std::size_t index) {
  auto path = o.path;
  if (auto at = path.find("{i}"); at != std::string::npos)
    path.replace(at, 3, std::to_string(index + o.index_offset));
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(o.port) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
}

// A masked frame from the client (opcode, payload up to 125 bytes).
std::string client_frame(std::uint8_t opcode, const std::string& payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  f.push_back(static_cast<char>(0x80 | payload.size()));
  const unsigned char mask[4] = {1, 2, 3, 4};
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}

struct conn {
  int fd = -1;
  bool upgraded = false;
  bool open = false;
  std::string in;
  std::uint64_t frames = 0;
  std::string last_text;  // latency mode: the newest text frame
};

// Consumes whole frames from c.in; returns false when the server closed.
template <class OnText>
bool consume(conn& c, OnText on_text) {
  std::size_t pos = 0;
  for (;;) {
    if (c.in.size() - pos < 2)
      break;
    auto b0 = static_cast<unsigned char>(c.in[pos]), b1 = static_cast<unsigned char>(c.in[pos + 1]);
    std::uint64_t len = b1 & 0x7f;
    std::size_t head = 2;
    if (len == 126) {
      if (c.in.size() - pos < 4)
        break;
      len = (static_cast<unsigned char>(c.in[pos + 2]) << 8) | static_cast<unsigned char>(c.in[pos + 3]);
      head = 4;
    } else if (len == 127) {
      if (c.in.size() - pos < 10)
        break;
      len = 0;
      for (int i = 0; i < 8; ++i)
        len = (len << 8) | static_cast<unsigned char>(c.in[pos + 2 + static_cast<std::size_t>(i)]);
      head = 10;
    }
    if (c.in.size() - pos < head + len)
      break;
    auto opcode = b0 & 0x0f;
    std::string_view payload(c.in.data() + pos + head, len);
    if (opcode == 0x9) {  // ping → pong
      auto pong = client_frame(0xA, std::string(payload.substr(0, 125)));
      (void)!::write(c.fd, pong.data(), pong.size());
    } else if (opcode == 0x8) {
      return false;
    } else if (opcode == 0x1 || opcode == 0x2 || opcode == 0x0) {
      ++c.frames;
      on_text(payload);
    }
    pos += head + len;
  }
  c.in.erase(0, pos);
  return true;
}

double seconds_since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

// Opens the connections and upgrades them; returns them with `epfd` watching each.
// An upgrade refused as overloaded (503/429, as a server answers during a burst
// of new sessions) is tried again after its Retry-After, as a client would;
// any other refusal ends the run.
std::vector<conn> connect_all(const options& o, int epfd) {
  std::vector<conn> conns(o.connections);
  std::size_t next = 0, upgraded = 0, pending = 0, retries = 0;
  std::deque<std::pair<steady::time_point, std::size_t>> again;  // (when, index), in time order per delay
  std::vector<epoll_event> events(1024);
  auto start = steady::now();
  auto open = [&](std::size_t i) {
    auto& c = conns[i];
    c = conn{};
    c.fd = open_socket(o.sources[i % o.sources.size()], o.port);
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, c.fd, &ev) != 0)
      die("epoll_ctl");
    ++pending;
  };
  while (upgraded < conns.size()) {
    auto now = steady::now();
    while (!again.empty() && again.front().first <= now && pending < 512) {
      open(again.front().second);
      again.pop_front();
    }
    while (next < conns.size() && pending < 512 && again.size() < 512)
      open(next++);
    int n = ::epoll_wait(epfd, events.data(), static_cast<int>(events.size()), 100);
    if (seconds_since(start) > o.timeout_seconds)
      die("timed out connecting: " + std::to_string(upgraded) + " of " + std::to_string(conns.size()) +
          " upgraded, " + std::to_string(retries) + " retried");
    for (int i = 0; i < n; ++i) {
      auto idx = events[static_cast<std::size_t>(i)].data.u64;
      auto& c = conns[idx];
      if (events[static_cast<std::size_t>(i)].events & (EPOLLERR | EPOLLHUP))
        die("connection failed during the handshake");
      if (!c.open && (events[static_cast<std::size_t>(i)].events & EPOLLOUT)) {
        c.open = true;
        auto req = upgrade_request(o, idx);
        if (::write(c.fd, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
          die("write upgrade");
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = idx;
        ::epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd, &ev);
      }
      if (events[static_cast<std::size_t>(i)].events & EPOLLIN) {
        char buf[4096];
        auto r = ::read(c.fd, buf, sizeof buf);
        if (r <= 0)
          die("server closed during the handshake");
        c.in.append(buf, static_cast<std::size_t>(r));
        if (!c.upgraded) {
          auto end = c.in.find("\r\n\r\n");
          if (end == std::string::npos)
            continue;
          if (c.in.compare(0, 12, "HTTP/1.1 503") == 0 || c.in.compare(0, 12, "HTTP/1.1 429") == 0) {
            double wait_s = 1;
            auto lower = c.in.substr(0, end);
            for (auto& ch : lower)
              ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (auto h = lower.find("\r\nretry-after:"); h != std::string::npos)
              wait_s = std::clamp(std::atof(lower.c_str() + h + 15), 0.05, 30.0);
            ::epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, nullptr);
            ::close(c.fd);
            c.fd = -1;
            --pending;
            ++retries;
            again.emplace_back(steady::now() + std::chrono::milliseconds(static_cast<long>(wait_s * 1000)), idx);
            continue;
          }
          if (c.in.compare(0, 12, "HTTP/1.1 101") != 0)
            die("upgrade refused: " + c.in.substr(0, c.in.find("\r\n")));
          c.in.erase(0, end + 4);
          c.upgraded = true;
          ++upgraded;
          --pending;
          consume(c, [](std::string_view) {});
        }
      }
    }
  }
  std::printf("connected %zu in %.2f s (%zu upgrades refused as overloaded and tried again)\n", conns.size(),
              seconds_since(start), retries);
  std::fflush(stdout);
  return conns;
}

// Reads every readable connection; calls on_frame(conn&, payload) per data frame.
template <class OnFrame>
std::size_t pump(int epfd, std::vector<conn>& conns, int timeout_ms, OnFrame on_frame) {
  static std::vector<epoll_event> events(4096);
  int n = ::epoll_wait(epfd, events.data(), static_cast<int>(events.size()), timeout_ms);
  std::size_t closed = 0;
  for (int i = 0; i < n; ++i) {
    auto& c = conns[events[static_cast<std::size_t>(i)].data.u64];
    if (c.fd < 0)
      continue;
    char buf[65536];
    for (;;) {
      auto r = ::read(c.fd, buf, sizeof buf);
      if (r > 0) {
        c.in.append(buf, static_cast<std::size_t>(r));
        continue;
      }
      if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        ::close(c.fd);
        c.fd = -1;
        ++closed;
      }
      break;
    }
    if (!consume(c, [&](std::string_view p) { on_frame(c, p); }) && c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
      ++closed;
    }
  }
  return closed;
}

int run_idle(const options& o) {
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  auto conns = connect_all(o, epfd);
  auto start = steady::now();
  std::size_t open = conns.size();
  for (;;) {
    if (o.hold_seconds > 0 && seconds_since(start) >= o.hold_seconds)
      break;
    pollfd in{0, POLLIN, 0};
    if (o.hold_seconds <= 0 && ::poll(&in, 1, 0) > 0) {
      char b[64];
      if (::read(0, b, sizeof b) <= 0)
        break;
    }
    open -= pump(epfd, conns, 200, [](conn&, std::string_view) {});
  }
  std::printf("held %zu\n", open);
  return open == conns.size() ? 0 : 2;
}

// This process's CPU time (user + system) so far.
double cpu_ms() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

int run_count(const options& o) {
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  auto conns = connect_all(o, epfd);
  std::printf("ready\n");
  std::fflush(stdout);
  auto cpu0 = cpu_ms();
  std::uint64_t total = 0, want = o.expect * conns.size();
  std::size_t done = 0;
  steady::time_point first{}, last{};
  auto start = steady::now();
  while (done < conns.size() && seconds_since(start) < o.timeout_seconds) {
    pump(epfd, conns, 200, [&](conn& c, std::string_view) {
      auto now = steady::now();
      if (total++ == 0)
        first = now;
      last = now;
      if (c.frames == o.expect)
        ++done;
    });
  }
  double secs = std::chrono::duration<double>(last - first).count();
  std::printf("frames %llu of %llu, complete %zu of %zu, seconds %.3f, client CPU %.0f ms, frames/s %.0f\n",
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(want), done, conns.size(), secs,
              cpu_ms() - cpu0, secs > 0 ? static_cast<double>(total) / secs : 0.0);
  return done == conns.size() ? 0 : 2;
}

// One blocking HTTP/1.1 request on a fresh connection; returns the response.
std::string http_post(const options& o, const std::string& body) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(o.port));
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0)
    die("connect for POST");
  std::string req = "POST " + o.post_path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + o.post_token +
                    "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size()))
    die("write POST");
  std::string out;
  char buf[8192];
  ssize_t r;
  while ((r = ::read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(r));
  ::close(fd);
  return out;
}

int run_latency(const options& o) {
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  options one = o;
  one.connections = 1;
  auto conns = connect_all(one, epfd);
  std::vector<double> ms;
  for (int i = 0; i < o.posts; ++i) {
    std::string marker = "lat" + std::to_string(i) + "x" + std::to_string(::getpid());
    auto t0 = steady::now();
    auto resp = http_post(o, "{\"status\":\"" + marker + "\",\"visibility\":\"public\"}");
    if (resp.compare(0, 12, "HTTP/1.1 200") != 0)
      die("POST failed: " + resp.substr(0, resp.find("\r\n")));
    bool seen = false;
    while (!seen) {
      if (seconds_since(t0) > 10)
        die("no update frame for " + marker + " within 10 s");
      pump(epfd, conns, 100, [&](conn&, std::string_view p) {
        if (p.find(marker) != std::string_view::npos)
          seen = true;
      });
    }
    ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))]; };
  std::printf("posts %zu, post-to-frame ms p50 %.2f p99 %.2f max %.2f\n", ms.size(), at(0.5), at(0.99), ms.back());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (o.mode == "idle")
    return run_idle(o);
  if (o.mode == "count")
    return run_count(o);
  if (o.mode == "latency")
    return run_latency(o);
  die("unknown --mode " + o.mode);
}
