#pragma once
// Internal to http/: one HTTP/1.1 connection on its own strand. It reads a
// request (header and body limits, read and idle timeouts, 100-continue),
// routes it, and writes the one response its responder sends (one request in
// flight, keep-alive), logging and counting each request. Beast is confined to
// this header, session.cpp and server.cpp: public headers stay Beast-free.
#include "http/server.hpp"
#include "http/types.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace chorus::http {

class session : public std::enable_shared_from_this<session> {
public:
  session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<server::impl> srv, std::uint64_t id);
  ~session();

  void start();
  // Answers 503 and closes (connection limit reached).
  void reject();
  // Shutdown: close now if idle, else after the in-flight response.
  void begin_close();
  // Called from any thread by the responder's sink: written at once when already
  // on this connection's strand (a continuation hopped here), else posted to it.
  void post_response(response r);
  // Runs a handler continuation on this connection's strand.
  void post_task(std::function<void()> fn);
  bool on_strand();

private:
  using steady = std::chrono::steady_clock;

  void do_read();
  void on_header(boost::beast::error_code ec, std::size_t);
  void read_body();
  void on_read_error(boost::beast::error_code ec);
  void begin_error_request();
  void on_read(boost::beast::error_code ec, std::size_t);
  void handle(boost::beast::http::request<boost::beast::http::string_body>&& breq);
  void write(response r);
  // The status line and headers are written into one buffer and sent with the
  // body in one gather write (see session.cpp).
  void send(response r);
  // A header name or value without control characters (no header injection).
  static void append_value(std::string& h, const std::string& v);
  void finish(int status, std::size_t bytes);
  void do_close();

  struct sink;  // the responder's reply_sink: posts onto this session

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<server::impl> srv_;
  std::uint64_t id_;
  std::string remote_;
  bool loopback_ = false;
  bool first_ = true;
  bool busy_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool keep_alive_ = false;
  bool head_ = false;  // the request being answered is HEAD: no body bytes
  unsigned version_ = 11;
  steady::time_point t0_;
  std::string method_, target_, route_ = "unmatched", request_id_, user_agent_;
};

} // namespace chorus::http
