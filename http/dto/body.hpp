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

namespace chorus::http {

// Field readers over a decoded body (JSON or form). Each returns false after
// answering 422 naming the field when the value has the wrong type.
bool get_string(const nlohmann::json& body, const char* key, std::optional<std::string>& out, const responder& res);
// Accepts JSON booleans and the strings true/false/1/0 (form bodies).
bool get_bool(const nlohmann::json& body, const char* key, std::optional<bool>& out, const responder& res);
// A string or array of strings (form "a[]=" arrays, or a space/newline separated string).
bool get_string_list(const nlohmann::json& body, const char* key, std::vector<std::string>& out,
                     const responder& res);

} // namespace chorus::http
