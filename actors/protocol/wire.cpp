#include "actors/protocol/wire.hpp"

#include <caf/actor_system_config.hpp>

namespace chorus::actors {

namespace {
template <class... Ts>
void add_all(caf::actor_system_config& cfg, caf::detail::type_list<Ts...>) {
  (cfg.add_message_type<Ts>("chorus." + wire_name<Ts>()), ...);
}
} // namespace

void add_message_types(caf::actor_system_config& cfg) {
  add_all(cfg, remote_types{});
}

} // namespace chorus::actors
