#pragma once
#include <string_view>
#include <vector>

namespace chorus::storage::pg {

struct migration {
  int version;
  const char* name;
  std::string_view sql;
};

// The files of migrations/, embedded at build time, ordered by version.
const std::vector<migration>& embedded_migrations();

} // namespace chorus::storage::pg
