#pragma once
// Where a node's streams actor hands events to the node's streaming
// connections: the HTTP layer's hub implements it and installs it at start
// (stream_sink_install). Calls come from the streams actor's thread and must
// not block (the hub renders once and posts to each connection's strand).
#include "common/ids.hpp"
#include "common/model/relationship.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::actors {

// One event for the hub. Keys name the hub's streams: shared ones ("public",
// "public:local", "public:remote", "public:media", "public:local:media",
// "public:remote:media", "hashtag:<tag>", "hashtag:local:<tag>") and one
// user's ("<stream>@<account>": "user@5", "user:notification@5", "direct@5").
struct stream_out {
  std::vector<std::string> keys;
  std::string event;
  std::string payload;
  std::int64_t seq = 0;      // user streams: the user's outbox sequence
  account_id user;           // user streams: whose
  account_id from;           // the account that caused it (viewer filters), 0: none
  bool all_shared = false;   // every shared stream (a `delete`)
};

class stream_sink {
public:
  virtual ~stream_sink() = default;
  virtual void deliver(const stream_out& ev) = 0;
  // `me` changed its relation to `target`: blocks and mutes change what their streams show.
  virtual void relation(account_id me, account_id target, model::relation_verb verb) = 0;
};

} // namespace chorus::actors
