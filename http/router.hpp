#pragma once
// One explicit route table: method + pattern ("/api/v1/accounts/:id") → handler.
// Literal segments beat parameters, so "/accounts/lookup" wins over "/accounts/:id".
#include "http/responder.hpp"
#include "http/types.hpp"

#include <functional>
#include <string>
#include <vector>

namespace chorus::http {

using handler_fn = std::function<void(request& req, const responder& res)>;

class router {
public:
  void add(std::string method, std::string pattern, handler_fn fn);

  struct match {
    const handler_fn* fn = nullptr;
    std::string route;   // the pattern, for metrics and logs ("" when none matched)
    std::string allow;   // methods allowed for the path when the method did not match
  };
  // Fills req.params on success.
  match find(request& req) const;

  struct entry {
    std::string method;
    std::string pattern;
  };
  std::vector<entry> list() const;

private:
  struct route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // ":name" for parameters
    int literals = 0;
    handler_fn fn;
  };
  std::vector<route> routes_;
};

// Splits "/a/b/c" into {"a","b","c"}.
std::vector<std::string> split_path(const std::string& path);

} // namespace chorus::http
