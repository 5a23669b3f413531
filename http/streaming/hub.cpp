#include "http/streaming/hub.hpp"

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

namespace chorus::http::streaming {

std::string stream_array(const std::string& key) {
  auto at = key.find('@');
  if (at != std::string::npos) {
    auto name = key.substr(0, at);
    if (name.rfind("list:", 0) == 0)
      return nlohmann::json::array({"list", name.substr(5)}).dump();
    return nlohmann::json::array({name}).dump();
  }
  for (const char* p : {"hashtag:local:", "hashtag:"}) {
    std::string prefix = p;
    if (key.rfind(prefix, 0) == 0)
      return nlohmann::json::array({prefix.substr(0, prefix.size() - 1), key.substr(prefix.size())}).dump();
  }
  return nlohmann::json::array({key}).dump();
}

std::shared_ptr<const frame> render(const std::string& key, const std::string& event, const std::string& payload,
                                    std::int64_t seq) {
  auto f = std::make_shared<frame>();
  f->key = key;
  f->seq = seq;
  auto ev = nlohmann::json(event).dump();
  auto pl = nlohmann::json(payload).dump();
  f->ws.reserve(pl.size() + ev.size() + key.size() + 64);
  f->ws.append("{\"stream\":").append(stream_array(key)).append(",\"event\":").append(ev).append(",\"payload\":").append(pl);
  if (seq > 0)
    f->ws.append(",\"seq\":").append(std::to_string(seq));
  f->ws.push_back('}');
  f->sse.reserve(payload.size() + event.size() + 48);
  if (seq > 0)
    f->sse.append("id: ").append(std::to_string(seq)).append("\n");
  f->sse.append("event: ");
  for (char c : event)
    if (c != '\n' && c != '\r')
      f->sse.push_back(c);
  f->sse.append("\ndata: ");
  for (char c : payload) {
    if (c == '\n')
      f->sse.append("\ndata: ");
    else if (c != '\r')
      f->sse.push_back(c);
  }
  f->sse.append("\n\n");
  return f;
}

void hub::subscribe(const std::string& key, const std::shared_ptr<client>& c, account_id viewer) {
  std::unique_lock<std::shared_mutex> lock(mtx_);
  auto& v = subs_[key];
  // Entries of clients that ended without unsubscribing go here.
  v.erase(std::remove_if(v.begin(), v.end(), [](const sub& s) { return s.w.expired(); }), v.end());
  for (auto& s : v)
    if (s.c == c.get())
      return;
  v.push_back({c, c.get(), viewer});
}

void hub::unsubscribe(const std::string& key, client* c) {
  std::unique_lock<std::shared_mutex> lock(mtx_);
  auto it = subs_.find(key);
  if (it == subs_.end())
    return;
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(), [c](const sub& s) { return s.c == c; }), v.end());
  if (v.empty())
    subs_.erase(it);
}

void hub::add_viewer(account_id viewer) {
  if (!viewer.value())
    return;
  std::unique_lock<std::shared_mutex> lock(mtx_);
  ++viewers_[viewer].connections;
}

void hub::remove_viewer(account_id viewer) {
  if (!viewer.value())
    return;
  std::unique_lock<std::shared_mutex> lock(mtx_);
  auto it = viewers_.find(viewer);
  if (it != viewers_.end() && --it->second.connections <= 0)
    viewers_.erase(it);
}

void hub::set_hidden(account_id viewer, const std::vector<std::int64_t>& hidden) {
  std::unique_lock<std::shared_mutex> lock(mtx_);
  auto it = viewers_.find(viewer);
  if (it == viewers_.end())
    return;
  it->second.hidden = std::unordered_set<std::int64_t>(hidden.begin(), hidden.end());
}

bool hub::hides(account_id viewer, account_id from) const {
  std::shared_lock<std::shared_mutex> lock(mtx_);
  auto it = viewers_.find(viewer);
  return it != viewers_.end() && it->second.hidden.count(from.value());
}

std::size_t hub::subscribers(const std::string& key) const {
  std::shared_lock<std::shared_mutex> lock(mtx_);
  auto it = subs_.find(key);
  return it == subs_.end() ? 0 : it->second.size();
}

// Called with the lock held (shared): the filter reads viewers_ without copying.
void hub::offer_all(const std::vector<sub>& subs, const std::shared_ptr<const frame>& f, account_id from) const {
  for (auto& s : subs) {
    if (from.value() && s.viewer.value() && s.viewer != from)  // one's own statuses are never hidden
      if (auto it = viewers_.find(s.viewer); it != viewers_.end() && it->second.hidden.count(from.value()))
        continue;
    if (auto owner = s.w.lock())
      owner->offer(f);
  }
}

void hub::broadcast(const std::string& key, const std::shared_ptr<const frame>& f) {
  std::shared_lock<std::shared_mutex> lock(mtx_);
  auto it = subs_.find(key);
  if (it != subs_.end())
    offer_all(it->second, f, account_id{});
}

void hub::deliver(const actors::stream_out& ev) {
  std::shared_lock<std::shared_mutex> lock(mtx_);
  auto one = [&](const std::string& key, const std::vector<sub>& subs) {
    if (subs.empty())
      return;
    offer_all(subs, render(key, ev.event, ev.payload, ev.seq), ev.from);
  };
  if (ev.all_shared) {
    for (auto& [key, subs] : subs_)
      if (key.find('@') == std::string::npos && key.rfind("*", 0) != 0)
        one(key, subs);
    return;
  }
  for (auto& key : ev.keys)
    if (auto it = subs_.find(key); it != subs_.end())
      one(key, it->second);
}

void hub::relation(account_id me, account_id target, model::relation_verb verb) {
  using v = model::relation_verb;
  std::vector<account_id> reload;
  {
    std::unique_lock<std::shared_mutex> lock(mtx_);
    auto hide = [&](account_id viewer, account_id other) {
      if (auto it = viewers_.find(viewer); it != viewers_.end())
        it->second.hidden.insert(other.value());
    };
    auto live = [&](account_id viewer) { return viewers_.count(viewer) != 0; };
    switch (verb) {
      case v::block:
        hide(me, target);
        hide(target, me);
        break;
      case v::mute: hide(me, target); break;
      case v::unblock:  // the other relations may still hide: read them again
        if (live(me))
          reload.push_back(me);
        if (live(target))
          reload.push_back(target);
        break;
      case v::unmute:
        if (live(me))
          reload.push_back(me);
        break;
      default: break;
    }
  }
  if (reload_)
    for (auto a : reload)
      reload_(a);
}

} // namespace chorus::http::streaming
