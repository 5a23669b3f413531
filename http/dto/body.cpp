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
  if (req.body.empty() && type.empty())
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
