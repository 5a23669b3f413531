#pragma once
// The streaming API (Mastodon's /api/v1/streaming, issue #14): WebSocket and
// SSE connections served by the HTTP server's sessions, fed by this node's
// streams actor through a hub. No Beast here (see gateway.hpp).
#include "actors/system/services.hpp"
#include "common/config.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace chorus::http {

class stream_gateway;  // http/streaming/gateway.hpp

// Builds the node's gateway and installs its hub in the streams actor.
std::shared_ptr<stream_gateway> make_streaming(const actors::services& svc, const streaming_config& cfg);

namespace streaming {

// A stream a client asks for, checked: its hub key, the scope its token needs,
// or the error Mastodon answers (status + message).
struct stream_spec {
  std::string key;
  std::string scope;         // "read:statuses" or "read:notifications" ("read" allows both)
  bool needs_user = false;   // user streams need a user's token
  std::int64_t user = 0;     // user streams: whose (the viewer)
  int status = 0;            // non-zero: refused
  std::string error;
};

// `name` as in Mastodon ("user", "public:local", "hashtag", …), with the
// `tag`, `list` and `only_media` parameters from the request or message.
stream_spec parse_stream(const std::string& name, const std::map<std::string, std::string>& params,
                         std::int64_t viewer);
// The stream name for an SSE path ("/api/v1/streaming/public/local" → "public:local"); "" if none.
std::string stream_of_path(const std::string& path);

} // namespace streaming
} // namespace chorus::http
