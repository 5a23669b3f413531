#include "actors/redis/redis_actor.hpp"

#include "actors/protocol/errors.hpp"
#include "actors/redis/redis_connection.hpp"
#include "actors/workers/worker.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <deque>
#include <memory>

namespace chorus::actors {
namespace {

enum redis_counter : std::size_t { c_connected, c_queued, c_in_flight, c_errors, c_rejected };
const std::vector<std::string> redis_counter_names = {"connected", "queued", "in_flight", "errors", "rejected"};

struct pending {
  redis_request req;
  caf::typed_response_promise<redis_result> rp;
};

struct manager_state {
  static inline const char* name = "chorus.redis";
  redis_options opts;
  redis_worker_actor worker;
  std::deque<pending> queue;
  std::size_t queued_commands = 0;
  // The pipeline in flight: its requests, in order, and where the worker puts the replies.
  std::uint64_t in_flight_id = 0;
  std::vector<pending> in_flight;
  std::size_t in_flight_commands = 0;
  std::shared_ptr<std::vector<storage::redis::reply>> in_flight_replies;
  std::uint64_t next_id = 1;
  redis_status status;
  std::shared_ptr<actor_stats> stats;
  metrics::histogram* pipeline_size = nullptr;

  void publish() {
    status.queued = queued_commands;
    status.in_flight = in_flight_commands;
    stats->set(c_connected, status.connected ? 1 : 0);
    stats->set(c_queued, static_cast<std::int64_t>(queued_commands));
    stats->set(c_in_flight, static_cast<std::int64_t>(in_flight_commands));
    stats->set(c_errors, static_cast<std::int64_t>(status.errors));
    stats->set(c_rejected, static_cast<std::int64_t>(status.rejected));
  }
};

using manager_ptr = redis_actor::stateful_pointer<manager_state>;

void flush(manager_ptr self) {
  auto& s = self->state;
  if (!s.in_flight.empty() || s.queue.empty()) {
    s.publish();
    return;
  }
  redis_request batch;
  std::size_t limit = static_cast<std::size_t>(s.opts.max_pipeline);
  while (!s.queue.empty()) {
    auto n = s.queue.front().req.commands.size();
    if (!s.in_flight.empty() && batch.commands.size() + n > limit)
      break;
    for (auto& c : s.queue.front().req.commands)
      batch.commands.push_back(c);
    s.queued_commands -= n;
    s.in_flight.push_back(std::move(s.queue.front()));
    s.queue.pop_front();
  }
  s.in_flight_commands = batch.commands.size();
  s.in_flight_id = s.next_id++;
  s.status.commands += batch.commands.size();
  ++s.status.pipelines;
  if (s.pipeline_size)
    s.pipeline_size->observe(static_cast<double>(batch.commands.size()));
  auto replies = std::make_shared<std::vector<storage::redis::reply>>();
  s.in_flight_replies = replies;
  self->send(s.worker, s.in_flight_id,
             redis_call{"pipeline", [cmds = std::move(batch.commands), replies](storage::redis::context& c) {
                          *replies = c.pipeline(cmds);
                        }});
  s.publish();
}

redis_actor::behavior_type redis_manager(manager_ptr self, redis_options opts, actor_registry* reg,
                                         metrics::registry* metrics) {
  auto& s = self->state;
  s.opts = opts;
  s.stats = reg->enlist(self, "redis", opts.host + ":" + std::to_string(opts.port), redis_counter_names);
  if (metrics) {
    s.pipeline_size = &metrics->get_histogram("chorus_redis_pipeline_commands", "Commands per Redis pipeline",
                                              {}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024});
    export_stats(*metrics, "chorus_redis", "Redis actor", opts.host + ":" + std::to_string(opts.port), s.stats,
                 {"errors", "rejected"});
  }
  worker_options wo;
  wo.kind = "redis_worker";
  wo.name = opts.host + ":" + std::to_string(opts.port);
  wo.jobs_counter = "pipelines";
  wo.resource = "redis";
  wo.reconnect = opts.reconnect;
  s.worker = spawn_worker(self, redis_connection{opts.host, opts.port, opts.timeout}, std::move(wo), reg);
  s.publish();
  return {
    [=](redis_request& req) -> caf::result<redis_result> {
      auto& s = self->state;
      observe(self, *s.stats);
      if (req.commands.empty())
        return redis_result{};
      if (s.queued_commands + req.commands.size() > static_cast<std::size_t>(s.opts.queue_limit)) {
        ++s.status.rejected;
        s.publish();
        return make_error(errc::overloaded, "redis queue is full");
      }
      auto rp = self->make_response_promise<redis_result>();
      s.queued_commands += req.commands.size();
      s.queue.push_back(pending{std::move(req), rp});
      flush(self);
      return rp;
    },
    [=](stats_atom) -> redis_status {
      auto& s = self->state;
      observe(self, *s.stats);
      s.publish();
      return s.status;
    },
    [=](done_atom, std::uint32_t, std::uint64_t id, bool up, caf::error& err) {
      auto& s = self->state;
      observe(self, *s.stats);
      if (id != s.in_flight_id)
        return;
      s.status.connected = up;
      if (err) {
        s.status.errors += s.in_flight.size();
        for (auto& p : s.in_flight)
          p.rp.deliver(err);
      } else {
        auto& replies = *s.in_flight_replies;
        std::size_t pos = 0;
        for (auto& p : s.in_flight) {
          redis_result part;
          auto n = p.req.commands.size();
          for (std::size_t i = 0; i < n && pos < replies.size(); ++i)
            part.replies.push_back(std::move(replies[pos++]));
          p.rp.deliver(std::move(part));
        }
      }
      s.in_flight.clear();
      s.in_flight_commands = 0;
      s.in_flight_replies.reset();
      flush(self);
    },
    [=](conn_atom, std::uint32_t, bool up) {
      auto& s = self->state;
      observe(self, *s.stats);
      s.status.connected = up;
      s.publish();
    },
  };
}

} // namespace

redis_actor spawn_redis(caf::actor_system& sys, redis_options opts, actor_registry& reg,
                        metrics::registry* metrics) {
  return sys.spawn(redis_manager, std::move(opts), &reg, metrics);
}

} // namespace chorus::actors
