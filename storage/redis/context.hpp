#pragma once
// RAII wrapper around one synchronous hiredis context (not thread-safe: one per
// actor/thread) with a pipelined batch call. No CAF here.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

struct redisContext;

namespace chorus::storage::redis {

struct reply {
  enum class kind : std::uint8_t { nil, integer, string, status, error, array };
  kind type = kind::nil;
  std::int64_t integer = 0;
  std::string str;              // string, status and error replies
  std::vector<reply> elements;  // array replies

  bool is_error() const noexcept { return type == kind::error; }
};

using command = std::vector<std::string>;

class context {
public:
  context(std::string host, int port, std::chrono::milliseconds timeout);
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  bool connected() const noexcept { return ctx_ != nullptr; }
  // (Re)connects; throws chorus::failure(errc::unavailable) on failure.
  void connect();
  void disconnect() noexcept;

  // Sends all commands in one pipeline and reads all replies, in order. Redis-level
  // errors come back as replies of kind::error; I/O errors drop the connection and
  // throw chorus::failure(errc::unavailable).
  std::vector<reply> pipeline(const std::vector<command>& cmds);
  reply call(const command& cmd);

private:
  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
  redisContext* ctx_ = nullptr;
};

} // namespace chorus::storage::redis
