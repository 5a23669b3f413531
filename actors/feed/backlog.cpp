// The feed manager's mirror writes: sent in order, and kept in a bounded
// backlog, retried every tick, while Redis is unreachable.
#include "actors/feed/feeds_manager.hpp"

#include "actors/protocol/errors.hpp"
#include "common/log.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>
#include <memory>

namespace chorus::actors::feeds_detail {

namespace {

void to_backlog(manager_ptr self, std::vector<storage::redis::command> cmds, std::function<void()> then) {
  auto& s = self->state;
  s.backlog.push_back({std::move(cmds), std::move(then)});
  while (s.backlog.size() > s.opts->mirror_backlog) {
    s.backlog.pop_front();
    ++s.dropped_writes;
    if (s.writes_dropped)
      s.writes_dropped->inc();
    if (s.dropped_writes == 1 || s.dropped_writes % 1000 == 0)
      log::write(log::level::error, "feeds: mirror write backlog full, dropping the oldest (mirrors go stale)",
                 {{"dropped", s.dropped_writes}});
  }
}

} // namespace

void redis_send(manager_ptr self, std::vector<storage::redis::command> cmds, const char* what,
                std::function<void()> then) {
  auto& s = self->state;
  if (cmds.empty())
    return then();
  if (!s.backlog.empty())
    return to_backlog(self, std::move(cmds), then);
  auto copy = std::make_shared<std::vector<storage::redis::command>>(cmds);
  self->request(s.deps->redis, s.opts->timeout, redis_request{std::move(cmds)})
    .then([then](redis_result&) mutable { then(); },
          [self, what, copy, then](caf::error& err) mutable {
            self->state.stats->add(c_errors);
            if (self->state.backlog.empty())
              log::write(log::level::warn, "feeds: redis write failed, keeping it for retry (memory feeds are updated)",
                         {{"what", what}, {"error", description_of(err)}});
            to_backlog(self, std::move(*copy), then);
          });
}

void flush_backlog(manager_ptr self) {
  auto& s = self->state;
  if (s.backlog.empty() || s.backlog_in_flight)
    return;
  s.backlog_in_flight = true;
  self->request(s.deps->redis, s.opts->timeout, redis_request{s.backlog.front().cmds})
    .then(
      [self](redis_result&) {
        auto& s = self->state;
        s.backlog_in_flight = false;
        if (s.backlog.empty())
          return;
        auto then = std::move(s.backlog.front().then);
        s.backlog.pop_front();
        if (then)
          then();
        if (s.backlog.empty())
          log::write(log::level::info, "feeds: mirror writes caught up after redis came back");
        flush_backlog(self);
      },
      [self](caf::error&) { self->state.backlog_in_flight = false; });
}

} // namespace chorus::actors::feeds_detail
