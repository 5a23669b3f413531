// GET /api/v1/instance and /api/v2/instance: what clients read to configure themselves.
#include "common/config.hpp"
#include "http/ask.hpp"
#include "http/handlers/handlers.hpp"

#include <nlohmann/json.hpp>

namespace chorus::http::handlers {

namespace {

std::string domain_of(const std::string& base_url) {
  auto p = base_url.find("://");
  auto host = p == std::string::npos ? base_url : base_url.substr(p + 3);
  return host.substr(0, host.find('/'));
}

// Where clients open streaming connections (Mastodon gives the scheme and
// host only; they append /api/v1/streaming): wss:// for an https base URL.
std::string streaming_url(const std::string& base_url) {
  auto tls = base_url.rfind("https://", 0) == 0;
  return (tls ? "wss://" : "ws://") + domain_of(base_url);
}

nlohmann::json configuration(const config& cfg, const std::string& base_url) {
  return {
    {"urls", {{"streaming_api", streaming_url(base_url)}}},
    {"accounts", {{"max_featured_tags", 0}, {"max_pinned_statuses", 0}}},
    {"statuses", {{"max_characters", cfg.max_status_chars}, {"max_media_attachments", 0},
                  {"characters_reserved_per_url", 23}}},
    {"media_attachments", {{"supported_mime_types", nlohmann::json::array()}, {"image_size_limit", 0},
                           {"image_matrix_limit", 0}, {"video_size_limit", 0}, {"video_frame_rate_limit", 0},
                           {"video_matrix_limit", 0}}},
    {"polls", {{"max_options", 0}, {"max_characters_per_option", 0}, {"min_expiration", 0}, {"max_expiration", 0}}},
  };
}

const char* version_string() { return "4.2.0 (compatible; Chorus " CHORUS_VERSION ")"; }

} // namespace

handler_fn instance_v1(const actors::services& svc) {
  return [svc](request&, const responder& res) {
    ask(*svc.system, res, svc.accounts, std::chrono::milliseconds(svc.cfg->http.request_timeout_ms),
        [svc, res](const actors::instance_stats& st) {
          auto conf = configuration(*svc.cfg, svc.base_url);
          res.json(200, {{"uri", domain_of(svc.base_url)},
                         {"title", "Chorus"},
                         {"short_description", ""},
                         {"description", ""},
                         {"email", ""},
                         {"version", version_string()},
                         {"urls", {{"streaming_api", streaming_url(svc.base_url)}}},
                         {"stats", {{"user_count", st.user_count}, {"status_count", st.status_count}, {"domain_count", 0}}},
                         {"thumbnail", nullptr},
                         {"languages", nlohmann::json::array({"en"})},
                         {"registrations", st.registrations_open},
                         {"approval_required", false},
                         {"invites_enabled", false},
                         {"configuration", conf},
                         {"contact_account", nullptr},
                         {"rules", nlohmann::json::array()}});
        },
        actors::instance_query{});
  };
}

handler_fn instance_v2(const actors::services& svc) {
  return [svc](request&, const responder& res) {
    ask(*svc.system, res, svc.accounts, std::chrono::milliseconds(svc.cfg->http.request_timeout_ms),
        [svc, res](const actors::instance_stats& st) {
          auto conf = configuration(*svc.cfg, svc.base_url);
          conf["urls"] = {{"streaming", streaming_url(svc.base_url)}};
          conf["translation"] = {{"enabled", false}};
          res.json(200, {{"domain", domain_of(svc.base_url)},
                         {"title", "Chorus"},
                         {"version", version_string()},
                         {"source_url", ""},
                         {"description", ""},
                         {"usage", {{"users", {{"active_month", st.active_month}}}}},
                         {"thumbnail", {{"url", ""}}},
                         {"languages", nlohmann::json::array({"en"})},
                         {"configuration", conf},
                         {"registrations", {{"enabled", st.registrations_open}, {"approval_required", false},
                                            {"message", nullptr}}},
                         {"contact", {{"email", ""}, {"account", nullptr}}},
                         {"rules", nlohmann::json::array()}});
        },
        actors::instance_query{});
  };
}

} // namespace chorus::http::handlers
