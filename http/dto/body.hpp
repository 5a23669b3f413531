#pragma once
// Request decoding shared by all handlers, and the one place client text is
// checked: JSON, form-encoded and multipart/form-data bodies (Mastodon clients
// send all three) become one JSON object whose every key and string value is
// valid UTF-8 without NUL. On failure the responder has already answered
// (400 undecodable, 415 unsupported type, 422 invalid text naming the field)
// and nullopt is returned.
#include "http/responder.hpp"
#include "http/types.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace chorus::http {

// A file part of a multipart/form-data body.
struct upload {
  std::string field;         // the part's name
  std::string filename;      // as the client sent it (may be empty)
  std::string content_type;  // as the client sent it (not trusted)
  std::string data;
};

// Decodes the body. File parts go to `files` when given (routes that take
// uploads), and are otherwise ignored, like any unknown parameter.
std::optional<nlohmann::json> read_body(const request& req, const responder& res,
                                        std::vector<upload>* files = nullptr);

// Checks the decoded path and query at the edge, before routing: a malformed
// percent-escape in the query is 400, text that is not UTF-8 or holds NUL is 422.
bool check_target(const request& req, const responder& res);

// Parses a multipart/form-data body (RFC 7578) with `boundary`: text parts into
// `fields`, file parts (those with a filename or a non-text type) into `files`.
// False when the body is not well-formed multipart.
bool parse_multipart(std::string_view body, std::string_view boundary,
                     std::vector<std::pair<std::string, std::string>>& fields, std::vector<upload>& files);

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
