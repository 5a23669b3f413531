#pragma once
// One lifecycle for the node's actors (the shape of redpanda's construct_service):
// the composition root registers each actor as it starts it, with the stop step
// that goes with it; stop_all() runs the steps in reverse order of registration
// and awaits each actor's end (monitor + down message, with a deadline) before
// the next, so a service is stopped only after everything started after it, and
// an actor started through started() cannot be forgotten at exit.
#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace caf { class actor_system; }

namespace chorus::actors {

class lifecycle {
public:
  explicit lifecycle(caf::actor_system& sys) : sys_(&sys) {}
  lifecycle(const lifecycle&) = delete;
  lifecycle& operator=(const lifecycle&) = delete;

  // Records `h` (just spawned) under `name`: stop_all() sends it an exit
  // (user_shutdown) and waits for it to end. Returns `h`.
  template <class Handle>
  Handle started(std::string name, Handle h) {
    steps_.push_back({std::move(name), caf::actor_cast<caf::actor>(h), {}});
    return h;
  }
  // A stop step that is not an actor exit (e.g. joining detached threads).
  void on_stop(std::string name, std::function<void()> fn) { steps_.push_back({std::move(name), {}, std::move(fn)}); }

  // Runs every step once, newest first. An actor that has not ended after
  // `deadline` is logged and left behind (the caller's await_all_actors_done
  // still waits for it). Returns the names of the steps in the order they ran.
  std::vector<std::string> stop_all(std::chrono::milliseconds deadline = std::chrono::seconds(10));

  std::size_t size() const noexcept { return steps_.size(); }

private:
  struct step {
    std::string name;
    caf::actor actor;            // set for actor steps
    std::function<void()> stop;  // set for other steps
  };
  caf::actor_system* sys_;
  std::vector<step> steps_;
};

} // namespace chorus::actors
