#include "storage/redis/context.hpp"

#include "common/errc.hpp"

#include <hiredis/hiredis.h>

namespace chorus::storage::redis {
namespace {

reply convert(const redisReply* r) {
  reply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = reply::kind::nil;
  }
  return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<long>(ms.count() / 1000);
  tv.tv_usec = static_cast<long>((ms.count() % 1000) * 1000);
  return tv;
}

} // namespace

context::context(std::string host, int port, std::chrono::milliseconds timeout)
  : host_(std::move(host)), port_(port), timeout_(timeout) {}

context::~context() { disconnect(); }

void context::disconnect() noexcept {
  if (ctx_) {
    redisFree(ctx_);
    ctx_ = nullptr;
  }
}

void context::connect() {
  disconnect();
  auto tv = to_timeval(timeout_);
  auto* c = redisConnectWithTimeout(host_.c_str(), port_, tv);
  if (c == nullptr)
    throw failure(errc::unavailable, "redis connect failed: out of memory");
  if (c->err) {
    std::string msg = c->errstr;
    redisFree(c);
    throw failure(errc::unavailable, "redis connect to " + host_ + ":" + std::to_string(port_) +
                                       " failed: " + msg);
  }
  redisSetTimeout(c, tv);
  redisEnableKeepAlive(c);
  ctx_ = c;
}

std::vector<reply> context::pipeline(const std::vector<command>& cmds) {
  if (!ctx_)
    connect();
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& cmd : cmds) {
    argv.clear();
    lens.clear();
    for (const auto& a : cmd) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
      std::string msg = ctx_->errstr;
      disconnect();
      throw failure(errc::unavailable, "redis write failed: " + msg);
    }
  }
  std::vector<reply> out;
  out.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      std::string msg = ctx_->err ? ctx_->errstr : "no reply";
      disconnect();
      throw failure(errc::unavailable, "redis read failed: " + msg);
    }
    auto* r = static_cast<redisReply*>(raw);
    out.push_back(convert(r));
    freeReplyObject(r);
  }
  return out;
}

reply context::call(const command& cmd) { return pipeline({cmd}).front(); }

} // namespace chorus::storage::redis
