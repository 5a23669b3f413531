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
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chorus::http {

// A file part of a multipart/form-data body: a part whose Content-Disposition
// carries a non-empty filename (a part with `filename=""` is a file input left
// empty and is dropped, as Rack does; a part without filename is a text field
// whatever its Content-Type).
struct upload {
  std::string field;         // the part's name ("avatar", "file", …)
  std::string filename;      // as the client sent it, checked as UTF-8 text
  std::string content_type;  // as the client sent it (not trusted); may be empty
  std::string data;          // the bytes, copied once from the request body
};

// Bounds of a multipart/form-data body besides http.body_limit.
namespace multipart_limits {
inline constexpr std::size_t boundary = 70;        // RFC 2046 5.1.1
inline constexpr std::size_t parts = 256;          // text and file parts together
inline constexpr std::size_t header_bytes = 4096;  // one part's header block
inline constexpr std::size_t header_lines = 8;     // header fields in one part
} // namespace multipart_limits

// Decodes the body. File parts go to `files` when given (routes that take
// uploads), and are otherwise ignored, like any unknown parameter.
std::optional<nlohmann::json> read_body(const request& req, const responder& res,
                                        std::vector<upload>* files = nullptr);

// Checks the decoded path and query at the edge, before routing: a malformed
// percent-escape in the query is 400, text that is not UTF-8 or holds NUL is 422.
bool check_target(const request& req, const responder& res);

// Parses a multipart/form-data body (RFC 7578, RFC 2046 5.1) with `boundary`:
// text parts into `fields` in order (names as sent, "a[]" kept for read_body's
// array rule), file parts into `files` (their bytes only when `file_bytes`). False with a reason in `why` when the body is not well-formed or
// exceeds multipart_limits: bad boundary, no delimiter, a missing close
// delimiter, a part without `Content-Disposition: form-data; name=…`, header
// blocks that are too long or malformed, too many parts.
bool parse_multipart(std::string_view body, std::string_view boundary,
                     std::vector<std::pair<std::string, std::string>>& fields, std::vector<upload>& files,
                     std::string* why = nullptr, bool file_bytes = true);

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
