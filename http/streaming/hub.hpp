#pragma once
// The node's streaming hub (HTTP side): the subscription table stream key →
// connections, and the blocks and mutes of each streaming viewer. The streams
// actor hands it events (actors/streams/sink.hpp); each is rendered once per
// stream key (a shared frame for WebSocket and for SSE) and offered to every
// subscriber, which queues it on its own strand. No Beast here.
#include "actors/streams/sink.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace chorus::http::streaming {

// One event as it goes on the wire, for one stream key.
struct frame {
  std::string key;   // the hub key it was rendered for ("user@5", "public", "hashtag:cats", …)
  std::string ws;    // {"stream":[…],"event":…,"payload":"…"[,"seq":N]}
  std::string sse;   // [id: N\n]event: …\ndata: …\n\n
  std::int64_t seq = 0;
  bool control = false;  // `ws` is sent as it is (already a WebSocket frame or HTTP bytes)
};

// A streaming connection as the hub sees it.
class client : public std::enable_shared_from_this<client> {
public:
  virtual ~client() = default;
  // Any thread: queue `f` on the connection's strand.
  virtual void offer(std::shared_ptr<const frame> f) = 0;
};

// Renders one event for one key (also used for replays).
std::shared_ptr<const frame> render(const std::string& key, const std::string& event, const std::string& payload,
                                    std::int64_t seq);
// The stream array of a key: ["user"], ["hashtag","cats"], ["list","1"].
std::string stream_array(const std::string& key);

class hub : public actors::stream_sink {
public:
  // `reload(viewer)` asks for a viewer's hidden accounts again (after an unblock or unmute).
  explicit hub(std::function<void(account_id)> reload) : reload_(std::move(reload)) {}

  // Clients unsubscribe when they close (never from a destructor: the last
  // reference to a client may be dropped while the hub offers it a frame).
  void subscribe(const std::string& key, const std::shared_ptr<client>& c, account_id viewer);
  void unsubscribe(const std::string& key, client* c);
  // A viewer's connection opens (its hidden set is shared by all its connections) / closes.
  void add_viewer(account_id viewer);
  void remove_viewer(account_id viewer);
  void set_hidden(account_id viewer, const std::vector<std::int64_t>& hidden);
  bool hides(account_id viewer, account_id from) const;
  // Offers a frame to every client of a key (heartbeats, tests).
  void broadcast(const std::string& key, const std::shared_ptr<const frame>& f);
  std::size_t subscribers(const std::string& key) const;

  void deliver(const actors::stream_out& ev) override;
  void relation(account_id me, account_id target, model::relation_verb verb) override;

  std::atomic<std::int64_t> connections{0};

private:
  struct sub {
    std::weak_ptr<client> w;
    const client* c;
    account_id viewer;
  };
  void offer_all(const std::vector<sub>& subs, const std::shared_ptr<const frame>& f, account_id from) const;
  mutable std::shared_mutex mtx_;
  std::unordered_map<std::string, std::vector<sub>> subs_;
  struct viewer_state {
    int connections = 0;
    std::unordered_set<std::int64_t> hidden;
  };
  std::unordered_map<account_id, viewer_state> viewers_;
  std::function<void(account_id)> reload_;
};

} // namespace chorus::http::streaming
