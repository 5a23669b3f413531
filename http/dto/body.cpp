#include "http/dto/body.hpp"

#include "common/text.hpp"

#include <algorithm>
#include <cctype>


namespace chorus::http {
namespace {

std::string lower_ascii(std::string_view in) {
  std::string out(in);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
    v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
    v.remove_suffix(1);
  return v;
}

// The value of parameter `name` (lower-case) in a header value such as
// `multipart/form-data; boundary="x"` or `form-data; name="a"; filename="b"`;
// quoted strings lose their quotes and backslash escapes. nullopt when absent.
std::optional<std::string> header_param(std::string_view value, std::string_view name) {
  std::size_t pos = value.find(';');
  while (pos != std::string_view::npos) {
    ++pos;
    // The parameter runs to the next ';' outside quotes.
    std::size_t end = pos;
    bool quoted = false;
    for (; end < value.size(); ++end) {
      char c = value[end];
      if (quoted && c == '\\') { ++end; continue; }
      if (c == '"') quoted = !quoted;
      else if (c == ';' && !quoted) break;
    }
    auto part = trim(value.substr(pos, std::min(end, value.size()) - pos));
    auto eq = part.find('=');
    if (eq != std::string_view::npos && lower_ascii(trim(part.substr(0, eq))) == name) {
      auto v = trim(part.substr(eq + 1));
      std::string out;
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (v[i] == '\\' && i + 1 < v.size())
            ++i;
          out.push_back(v[i]);
        }
      } else {
        out = std::string(v);
      }
      return out;
    }
    pos = end < value.size() ? end : std::string_view::npos;
  }
  return std::nullopt;
}

// "a[]" keys collect into arrays; repeated plain keys keep the last value.
nlohmann::json params_to_json(std::vector<std::pair<std::string, std::string>>& kv) {
  auto j = nlohmann::json::object();
  for (auto& [k, v] : kv) {
    if (k.size() > 2 && k.compare(k.size() - 2, 2, "[]") == 0) {
      auto base = k.substr(0, k.size() - 2);
      if (!j[base].is_array())
        j[base] = nlohmann::json::array();
      j[base].push_back(std::move(v));
    } else {
      j[k] = std::move(v);
    }
  }
  return j;
}

// Answers 422 and returns false when `s` (the value of `what`) is not clean text.
bool check_field(std::string_view what, std::string_view s, const responder& res) {
  auto fault = text::check_text(s);
  if (fault == text::text_fault::none)
    return true;
  auto name = text::check_text(what) == text::text_fault::none ? std::string(what) : std::string("a parameter name");
  res.fail(errc::unprocessable, "Validation failed",
           fault == text::text_fault::nul ? name + " must not contain NUL characters"
                                          : name + " is not valid UTF-8 text");
  return false;
}

bool check_params(const std::vector<std::pair<std::string, std::string>>& kv, const responder& res) {
  for (auto& [k, v] : kv)
    if (!check_field("a parameter name", k, res) || !check_field("'" + k + "'", v, res))
      return false;
  return true;
}

// JSON text is UTF-8 by the parser's own check; what remains is NUL (\u0000),
// in any key or string at any depth.
bool check_json(const nlohmann::json& j, const std::string& field, const responder& res) {
  if (j.is_string())
    return check_field("'" + field + "'", j.get_ref<const std::string&>(), res);
  if (j.is_array()) {
    for (auto& v : j)
      if (!check_json(v, field, res))
        return false;
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (!check_field("a parameter name", it.key(), res) || !check_json(it.value(), field.empty() ? it.key() : field, res))
        return false;
  }
  return true;
}

} // namespace

namespace {

// RFC 2046 5.1.1: 1–70 of DIGIT / ALPHA / '()+_,-./:=? and space, not ending in space.
bool valid_boundary(std::string_view b) {
  if (b.empty() || b.size() > multipart_limits::boundary || b.back() == ' ')
    return false;
  for (unsigned char c : b)
    if (!std::isalnum(c) && std::string_view("'()+_,-./:=? ").find(static_cast<char>(c)) == std::string_view::npos)
      return false;
  return true;
}

// After a "--boundary" at `at`: the length of what ends the delimiter line
// (transport padding, then CRLF), or of the close delimiter's "--"; 0 when the
// bytes there do not end a delimiter (the boundary text only begins a longer
// line, or the body ends).
std::size_t delimiter_end(std::string_view body, std::size_t at, bool& close) {
  close = body.compare(at, 2, "--") == 0;
  if (close)
    return 2;
  std::size_t i = at;
  while (i < body.size() && (body[i] == ' ' || body[i] == '\t'))
    ++i;
  return body.compare(i, 2, "\r\n") == 0 ? i + 2 - at : 0;
}

bool fail(std::string* why, const char* reason) {
  if (why)
    *why = reason;
  return false;
}

bool is_token_char(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

} // namespace

bool parse_multipart(std::string_view body, std::string_view boundary,
                     std::vector<std::pair<std::string, std::string>>& fields, std::vector<upload>& files,
                     std::string* why, bool file_bytes) {
  if (!valid_boundary(boundary))
    return fail(why, "the boundary must be 1 to 70 characters of RFC 2046's set");
  const std::string delim = "\r\n--" + std::string(boundary);
  // The first delimiter opens the body, or follows a preamble (ignored) on its own line.
  const std::string_view dash = std::string_view(delim).substr(2);
  std::size_t pos = 0;
  bool close = false;
  for (std::size_t at = body.compare(0, dash.size(), dash) == 0 ? 0 : std::string_view::npos;;) {
    if (at == std::string_view::npos) {
      auto crlf = body.find(delim);
      if (crlf == std::string_view::npos)
        return fail(why, "the body holds no delimiter of the boundary the Content-Type names");
      at = crlf + 2;
    }
    if (auto n = delimiter_end(body, at + dash.size(), close)) {
      pos = at + dash.size() + n;
      break;
    }
    auto crlf = body.find(delim, at);
    if (crlf == std::string_view::npos)
      return fail(why, "the body holds no delimiter of the boundary the Content-Type names");
    at = crlf + 2;
  }
  for (std::size_t parts = 0; !close; ++parts) {
    if (parts == multipart_limits::parts)
      return fail(why, "too many parts");
    // Header block: lines up to an empty line, bounded in bytes and in count.
    std::optional<std::string> name, filename;
    std::string type;
    bool disposition = false;
    for (std::size_t lines = 0, start = pos;; ++lines) {
      // Look no further than the block may reach, so a hostile part costs O(limit).
      auto window = body.substr(pos, multipart_limits::header_bytes + 2 - std::min(pos - start, multipart_limits::header_bytes));
      auto eol = window.find("\r\n");
      if (eol == std::string_view::npos)
        return fail(why, pos + window.size() < body.size() ? "a part's header block is too long"
                                                           : "the body ends inside a part's header block");
      eol += pos;
      auto line = body.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.empty())
        break;
      if (lines == multipart_limits::header_lines)
        return fail(why, "a part has too many header fields");
      auto colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos)
        return fail(why, "a part's header line is not a header field");
      for (unsigned char c : line.substr(0, colon))
        if (!is_token_char(c))
          return fail(why, "a part's header field name is malformed (or a folded line)");
      if (line.find('\r') != std::string_view::npos || line.find('\n') != std::string_view::npos)
        return fail(why, "a part's header line holds a bare CR or LF");
      auto hname = lower_ascii(line.substr(0, colon));
      auto hvalue = trim(line.substr(colon + 1));
      if (hname == "content-disposition") {
        if (disposition)
          return fail(why, "a part has two Content-Disposition fields");
        disposition = true;
        if (lower_ascii(trim(hvalue.substr(0, hvalue.find(';')))) != "form-data")
          return fail(why, "a part's Content-Disposition is not form-data");
        name = header_param(hvalue, "name");
        filename = header_param(hvalue, "filename");
      } else if (hname == "content-type") {
        type = std::string(hvalue);
      }  // RFC 7578 4.8: any other header field is ignored
    }
    if (!name)
      return fail(why, "a part has no Content-Disposition: form-data with a name");  // RFC 7578 4.2
    // Content runs to the next CRLF--boundary that ends a delimiter line.
    std::size_t at = pos, n = 0;
    for (;; ++at) {
      at = body.find(delim, at);
      if (at == std::string_view::npos)
        return fail(why, "the body ends before the closing boundary");
      if ((n = delimiter_end(body, at + delim.size(), close)))
        break;
    }
    auto content = body.substr(pos, at - pos);
    pos = at + delim.size() + n;
    if (!filename)
      fields.emplace_back(std::move(*name), std::string(content));
    else if (!filename->empty())
      files.push_back({std::move(*name), std::move(*filename), std::move(type),
                       file_bytes ? std::string(content) : std::string()});
  }
  return true;  // an epilogue after the close delimiter is ignored
}

bool check_target(const request& req, const responder& res) {
  if (!check_field("the request path", req.path, res))
    return false;
  if (req.query_string.empty())
    return true;
  std::vector<std::pair<std::string, std::string>> kv;
  if (!parse_form(req.query_string, kv)) {
    res.fail(errc::bad_request, "Malformed request target", "malformed percent-encoding in the query");
    return false;
  }
  return check_params(kv, res);
}

std::optional<nlohmann::json> read_body(const request& req, const responder& res, std::vector<upload>* files) {
  auto header = req.header("content-type").value_or("");
  auto type = lower_ascii(trim(header.substr(0, header.find(';'))));
  // An empty body is an empty set of parameters, whatever the declared type
  // (clients send Content-Type: application/json on bodiless POSTs).
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos)
    return nlohmann::json::object();
  if (type == "application/json" || (type.empty() && (req.body[0] == '{' || req.body[0] == '['))) {
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded()) {
      res.fail(errc::bad_request, "Invalid JSON", "the request body is not valid JSON (or not UTF-8)");
      return std::nullopt;
    }
    if (!j.is_object()) {
      res.fail(errc::unprocessable, "Validation failed", "the JSON body must be an object");
      return std::nullopt;
    }
    if (!check_json(j, "", res))
      return std::nullopt;
    return j;
  }
  std::vector<std::pair<std::string, std::string>> kv;
  if (type == "application/x-www-form-urlencoded" || type.empty()) {
    if (!parse_form(req.body, kv)) {
      res.fail(errc::bad_request, "Invalid form body", "malformed percent-encoding");
      return std::nullopt;
    }
  } else if (type == "multipart/form-data") {
    auto boundary = header_param(header, "boundary");
    std::vector<upload> uploads;
    std::string why = "the Content-Type has no boundary parameter";
    // File bytes are copied out of the request only for routes that take uploads.
    if (!boundary || !parse_multipart(req.body, *boundary, kv, uploads, &why, files != nullptr)) {
      res.fail(errc::bad_request, "Invalid multipart body", "malformed multipart/form-data: " + why);
      return std::nullopt;
    }
    for (auto& u : uploads)
      if (!check_field("a parameter name", u.field, res) || !check_field("the file name of '" + u.field + "'", u.filename, res))
        return std::nullopt;
    if (files)
      *files = std::move(uploads);
  } else {
    res.fail(errc::unsupported_media_type, "Unsupported content type",
             "send application/json, application/x-www-form-urlencoded or multipart/form-data");
    return std::nullopt;
  }
  if (!check_params(kv, res))
    return std::nullopt;
  return params_to_json(kv);
}

} // namespace chorus::http

namespace chorus::http {

bool get_string(const nlohmann::json& body, const char* key, std::optional<std::string>& out, const responder& res) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    return true;
  if (it->is_string()) {
    out = it->get<std::string>();
    return true;
  }
  res.fail(errc::unprocessable, "Validation failed", std::string("'") + key + "' must be a string");
  return false;
}

bool get_bool(const nlohmann::json& body, const char* key, std::optional<bool>& out, const responder& res) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    return true;
  if (it->is_boolean()) {
    out = it->get<bool>();
    return true;
  }
  if (it->is_string()) {
    auto v = it->get<std::string>();
    if (v == "true" || v == "1" || v == "on") { out = true; return true; }
    if (v == "false" || v == "0" || v == "off" || v.empty()) { out = false; return true; }
  }
  res.fail(errc::unprocessable, "Validation failed", std::string("'") + key + "' must be a boolean");
  return false;
}

bool get_string_list(const nlohmann::json& body, const char* key, std::vector<std::string>& out,
                     const responder& res) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    return true;
  if (it->is_array()) {
    for (auto& v : *it) {
      if (!v.is_string()) {
        res.fail(errc::unprocessable, "Validation failed", std::string("'") + key + "' must hold strings");
        return false;
      }
      out.push_back(v.get<std::string>());
    }
    return true;
  }
  if (it->is_string()) {
    auto s = it->get<std::string>();
    std::size_t pos = 0;
    while (pos < s.size()) {
      auto end = s.find_first_of(" \n\r\t", pos);
      if (end == std::string::npos) end = s.size();
      if (end > pos) out.push_back(s.substr(pos, end - pos));
      pos = end + 1;
    }
    return true;
  }
  res.fail(errc::unprocessable, "Validation failed", std::string("'") + key + "' must be a string or a list");
  return false;
}

} // namespace chorus::http
