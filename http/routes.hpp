#pragma once
#include "actors/system/services.hpp"
#include "http/router.hpp"

#include <memory>

namespace chorus::http {

// The whole public route table of chorusd, in one place.
std::shared_ptr<const router> make_routes(const actors::services& svc);

} // namespace chorus::http
