#include "http/dto/body.hpp"


namespace chorus::http {

std::optional<nlohmann::json> read_body(const request& req, const responder& res) {
  auto ct = std::string(req.header("content-type").value_or(""));
  for (auto& c : ct)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto semi = ct.find(';');
  auto type = ct.substr(0, semi);
  while (!type.empty() && type.back() == ' ')
    type.pop_back();
  // An empty body is an empty set of parameters, whatever the declared type
  // (clients send Content-Type: application/json on bodiless POSTs).
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos)
    return nlohmann::json::object();
  if (type == "application/json" || (type.empty() && !req.body.empty() && (req.body[0] == '{' || req.body[0] == '['))) {
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded()) {
      res.fail(errc::bad_request, "Invalid JSON", "the request body is not valid JSON");
      return std::nullopt;
    }
    if (!j.is_object()) {
      res.fail(errc::unprocessable, "Validation failed", "the JSON body must be an object");
      return std::nullopt;
    }
    return j;
  }
  if (type == "application/x-www-form-urlencoded" || type.empty()) {
    std::vector<std::pair<std::string, std::string>> kv;
    if (!parse_form(req.body, kv)) {
      res.fail(errc::bad_request, "Invalid form body", "malformed percent-encoding");
      return std::nullopt;
    }
    auto j = nlohmann::json::object();
    for (auto& [k, v] : kv) {
      if (k.size() > 2 && k.compare(k.size() - 2, 2, "[]") == 0) {
        auto base = k.substr(0, k.size() - 2);
        if (!j[base].is_array())
          j[base] = nlohmann::json::array();
        j[base].push_back(v);
      } else {
        j[k] = v;
      }
    }
    return j;
  }
  res.fail(errc::unsupported_media_type, "Unsupported content type",
           "send application/json or application/x-www-form-urlencoded, not " + type);
  return std::nullopt;
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
