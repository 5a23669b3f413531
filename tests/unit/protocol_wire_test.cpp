// The remote part of the protocol catalogue (actors/protocol/wire.hpp): every
// message and model type that may cross nodes names each of its fields in its
// inspect(), carries no node-local (unsafe) field, and survives a binary round
// trip through a caf::message in an actor system that registered the types.
// Samples are filled field by field (Boost.PFR) with values unlike the
// defaults, and compared field by field, so a field an inspect() forgets is
// caught without trusting the inspect() under test.
#include "actors/protocol/local.hpp"
#include "actors/protocol/wire.hpp"

#include <boost/pfr/core.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/message.hpp>
#include <caf/meta/annotation.hpp>
#include <gtest/gtest.h>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <vector>

using namespace chorus;
using namespace chorus::actors;

namespace {

// Types sent only inside the remote ones (each needs the same discipline).
using nested_types = caf::detail::type_list<
  model::status, model::status_bundle, model::new_status, model::create_result, model::page, model::account_update,
  model::feed_entry, model::ring_entry, model::job, model::queue_depth, authorize_check, auth_context,
  tag_history_day, trend_tag, model::notification, model::notification_group, model::notification_request,
  model::notification_policy, model::marker>;

// ---- what an inspect() names ---------------------------------------------

struct field_counter {
  using result_type = caf::error;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;
  std::size_t fields = 0;
  std::vector<std::string> unsafe;

  template <class... Ts>
  caf::error operator()(Ts&&... xs) {
    (take<std::decay_t<Ts>>(), ...);
    return caf::none;
  }

  template <class T>
  void take() {
    if constexpr (!caf::meta::is_annotation<T>::value) {
      ++fields;
      if constexpr (caf::allowed_unsafe_message_type<T>::value)
        unsafe.push_back(typeid(T).name());
    }
  }
};

template <class T>
void expect_every_field_named() {
  field_counter c;
  T x{};
  inspect(c, x);
  EXPECT_EQ(c.fields, boost::pfr::tuple_size_v<T>) << wire_name<T>() << ": inspect() names a different number of fields";
  EXPECT_TRUE(c.unsafe.empty()) << wire_name<T>() << " has a node-local field: " << (c.unsafe.empty() ? "" : c.unsafe[0]);
  EXPECT_FALSE(caf::allowed_unsafe_message_type<T>::value) << wire_name<T>() << " is marked node-local";
}

// ---- samples unlike the defaults --------------------------------------------

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_map : std::false_type {};
template <class K, class V>
struct is_map<std::unordered_map<K, V>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_strong_id : std::false_type {};
template <class Tag>
struct is_strong_id<strong_id<Tag>> : std::true_type {};

// Actor handles in samples (member_actors) point at this live actor: a handle
// to a local actor comes back from the wire as the same handle.
caf::strong_actor_ptr sample_handle;

struct filler {
  std::int64_t next = 1;

  template <class T>
  void operator()(T& x) {
    if constexpr (std::is_same<T, bool>::value) {
      x = true;
    } else if constexpr (std::is_enum<T>::value) {
      x = static_cast<T>(1);
    } else if constexpr (std::is_integral<T>::value) {
      x = static_cast<T>(next++ % 100 + 1);
    } else if constexpr (std::is_floating_point<T>::value) {
      x = static_cast<T>(next++) + 0.25;
    } else if constexpr (std::is_same<T, std::string>::value) {
      x = "s" + std::to_string(next++) + " \xc3\xa9\xf0\x9f\x8e\xb5";  // and non-ASCII UTF-8
    } else if constexpr (is_strong_id<T>::value) {
      x = T{(std::int64_t{1} << 60) + next++};
    } else if constexpr (std::is_same<T, std::shared_ptr<const std::string>>::value) {
      x = std::make_shared<const std::string>("[{\"id\":\"" + std::to_string(next++) + "\"}]");
    } else if constexpr (std::is_same<T, caf::strong_actor_ptr>::value) {
      x = sample_handle;
    } else if constexpr (is_optional<T>::value) {
      typename T::value_type v{};
      (*this)(v);
      x = std::move(v);
    } else if constexpr (is_vector<T>::value) {
      x.resize(2);
      for (auto& e : x)
        (*this)(e);
    } else if constexpr (is_map<T>::value) {
      typename T::key_type k{};
      typename T::mapped_type v{};
      (*this)(k);
      (*this)(v);
      x.emplace(std::move(k), std::move(v));
    } else {
      static_assert(std::is_aggregate<T>::value, "add this field type to the filler");
      boost::pfr::for_each_field(x, [this](auto& f) { (*this)(f); });
    }
  }
};

// Field-by-field equality, independent of inspect().
struct equal_fields {
  template <class T>
  bool operator()(const T& a, const T& b) const {
    if constexpr (std::is_arithmetic<T>::value || std::is_enum<T>::value || std::is_same<T, std::string>::value ||
                  is_strong_id<T>::value || std::is_same<T, caf::strong_actor_ptr>::value) {
      return a == b;
    } else if constexpr (std::is_same<T, std::shared_ptr<const std::string>>::value) {
      return (a ? *a : std::string{}) == (b ? *b : std::string{});
    } else if constexpr (is_optional<T>::value) {
      return a.has_value() == b.has_value() && (!a || (*this)(*a, *b));
    } else if constexpr (is_vector<T>::value) {
      if (a.size() != b.size())
        return false;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (!(*this)(a[i], b[i]))
          return false;
      return true;
    } else if constexpr (is_map<T>::value) {
      if (a.size() != b.size())
        return false;
      for (auto& [k, v] : a) {
        auto it = b.find(k);
        if (it == b.end() || !(*this)(v, it->second))
          return false;
      }
      return true;
    } else {
      bool same = true;
      boost::pfr::for_each_field(a, [&](const auto& fa, auto i) {
        same = same && (*this)(fa, boost::pfr::get<decltype(i)::value>(b));
      });
      return same;
    }
  }
};

template <class T>
T sample() {
  T x{};
  filler{}(x);
  return x;
}

struct wire_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  wire_system() {
    add_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    sample_handle = caf::actor_cast<caf::strong_actor_ptr>(sys->spawn([] { return caf::behavior{[](int) {}}; }));
  }
  ~wire_system() {
    caf::anon_send_exit(caf::actor_cast<caf::actor>(sample_handle), caf::exit_reason::user_shutdown);
    sample_handle = nullptr;
  }
};

template <class T>
void expect_round_trip(caf::actor_system& sys) {
  auto original = sample<T>();
  if constexpr (boost::pfr::tuple_size_v<T> > 0)
    EXPECT_FALSE(equal_fields{}(original, T{})) << wire_name<T>() << ": the sample must differ from the default";
  std::vector<char> buf;
  {
    caf::binary_serializer sink{sys, buf};
    auto msg = caf::make_message(original);
    ASSERT_FALSE(sink(msg)) << wire_name<T>();
  }
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  ASSERT_FALSE(source(back)) << wire_name<T>() << ": not registered with add_message_type?";
  ASSERT_TRUE(back.match_elements<T>()) << wire_name<T>();
  const auto& copy = back.get_as<T>(0);
  EXPECT_TRUE(equal_fields{}(original, copy)) << wire_name<T>() << " changed on the wire:\n  sent "
                                              << caf::deep_to_string(original) << "\n  got  "
                                              << caf::deep_to_string(copy);
}

template <class... Ts>
void each_named(caf::detail::type_list<Ts...>) {
  (expect_every_field_named<Ts>(), ...);
}

template <class... Ts>
void each_round_trip(caf::actor_system& sys, caf::detail::type_list<Ts...>) {
  (expect_round_trip<Ts>(sys), ...);
}

template <class... Ts>
std::vector<std::string> names(caf::detail::type_list<Ts...>) {
  return {wire_name<Ts>()...};
}

} // namespace

TEST(ProtocolWire, EveryRemoteTypeNamesAllItsFieldsAndNothingNodeLocal) {
  each_named(remote_types{});
  each_named(nested_types{});
}

TEST(ProtocolWire, EveryRemoteTypeSurvivesABinaryRoundTrip) {
  wire_system w;
  each_round_trip(*w.sys, remote_types{});
}

TEST(ProtocolWire, WireNamesAreUnique) {
  auto all = names(remote_types{});
  std::set<std::string> unique(all.begin(), all.end());
  EXPECT_EQ(unique.size(), all.size()) << "two remote types share a wire name";
  for (auto& n : all)
    EXPECT_FALSE(n.empty());
}

TEST(ProtocolWire, NodeLocalMessagesAreMarkedAndNotRegistered) {
  EXPECT_TRUE(caf::allowed_unsafe_message_type<db_call>::value);
  EXPECT_TRUE(caf::allowed_unsafe_message_type<blocking_call>::value);
  EXPECT_TRUE(caf::allowed_unsafe_message_type<home_request>::value);
  EXPECT_TRUE(caf::allowed_unsafe_message_type<renderer_install>::value);
  EXPECT_TRUE(caf::allowed_unsafe_message_type<hot_reply>::value);
  EXPECT_TRUE(caf::allowed_unsafe_message_type<lock_batch>::value);
}

TEST(ProtocolWire, AnIdOfOneKindIsNotAnIdOfAnother) {
  static_assert(!std::is_convertible<std::int64_t, account_id>::value, "numbers must be named");
  static_assert(!std::is_convertible<account_id, status_id>::value, "kinds must not mix");
  static_assert(!std::is_constructible<status_id, account_id>::value, "not even explicitly");
  account_id a{5};
  EXPECT_EQ(a.value(), 5);
  EXPECT_EQ(std::int64_t{a}, 5) << "reading the number is free";
}
