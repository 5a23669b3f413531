#include "actors/system/lifecycle.hpp"

#include "common/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

namespace chorus::actors {

std::vector<std::string> lifecycle::stop_all(std::chrono::milliseconds deadline) {
  std::vector<std::string> order;
  // Blocking waits are fine here: this runs on the composition root's thread at
  // exit, never on the scheduler.
  caf::scoped_actor self{*sys_};
  while (!steps_.empty()) {
    auto s = std::move(steps_.back());
    steps_.pop_back();
    order.push_back(s.name);
    if (s.stop) {
      s.stop();
      continue;
    }
    if (!s.actor)
      continue;
    self->monitor(s.actor);
    caf::anon_send_exit(s.actor, caf::exit_reason::user_shutdown);
    bool down = false;
    while (!down) {
      bool timed_out = false;
      self->receive([&](caf::down_msg& dm) { down = dm.source == s.actor.address(); },
                    caf::after(deadline) >> [&] { timed_out = true; });
      if (timed_out) {
        log::write(log::level::warn, "shutdown: an actor did not stop in time",
                   {{"actor", s.name}, {"deadline_ms", deadline.count()}});
        break;
      }
    }
  }
  return order;
}

} // namespace chorus::actors
