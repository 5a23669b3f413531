#pragma once
// Request body decoding shared by all handlers: JSON or form-encoded (Mastodon
// clients send both) into one JSON object. On failure the responder has already
// answered (400 malformed, 415 unsupported type) and nullopt is returned.
#include "http/responder.hpp"
#include "http/types.hpp"

#include <nlohmann/json.hpp>
#include <optional>

namespace chorus::http {

std::optional<nlohmann::json> read_body(const request& req, const responder& res);

} // namespace chorus::http
