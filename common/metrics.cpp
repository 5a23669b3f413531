#include "common/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace chorus::metrics {

histogram::histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  buckets_.reset(new std::atomic<std::uint64_t>[bounds_.size() + 1]);
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    buckets_[i].store(0);
}

void histogram::observe(double v) noexcept {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (v > 0)
    sum_micro_.fetch_add(static_cast<std::uint64_t>(v * 1e6), std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

double histogram::sum() const noexcept {
  return static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6;
}

double histogram::quantile(double q) const {
  auto cum = cumulative();
  auto total = cum.back();
  if (total == 0)
    return 0;
  auto rank = q * static_cast<double>(total);
  for (std::size_t i = 0; i < cum.size(); ++i) {
    if (static_cast<double>(cum[i]) >= rank) {
      if (i == bounds_.size())
        return bounds_.empty() ? 0 : bounds_.back();
      double lo = i == 0 ? 0 : bounds_[i - 1];
      double prev = i == 0 ? 0 : static_cast<double>(cum[i - 1]);
      double in_bucket = static_cast<double>(cum[i]) - prev;
      double frac = in_bucket > 0 ? (rank - prev) / in_bucket : 1;
      return lo + (bounds_[i] - lo) * frac;
    }
  }
  return bounds_.empty() ? 0 : bounds_.back();
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string render_labels(const labels& ls) {
  if (ls.empty())
    return {};
  std::string out = "{";
  bool first = true;
  for (auto& [k, v] : ls) {
    if (!first) out.push_back(',');
    first = false;
    out += k;
    out += "=\"";
    out += escape_label(v);
    out += '"';
  }
  out.push_back('}');
  return out;
}

namespace {
std::string fmt(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string with_label(const std::string& rendered, const std::string& extra) {
  // rendered is "" or "{...}"; extra is `le="x"`.
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}
} // namespace

void write_header(std::string& out, const std::string& name, const std::string& type,
                  const std::string& help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void write_sample(std::string& out, const std::string& name, const labels& ls, double value) {
  out += name;
  out += render_labels(ls);
  out.push_back(' ');
  out += fmt(value);
  out.push_back('\n');
}

registry::family& registry::fam(const std::string& name, const std::string& help, const char* type) {
  auto& f = families_[name];
  if (f.type.empty()) {
    f.type = type;
    f.help = help;
  } else if (f.type != type) {
    throw std::logic_error("metric " + name + " registered as " + f.type + " and " + type);
  }
  return f;
}

counter& registry::get_counter(const std::string& name, const std::string& help, const labels& ls) {
  std::lock_guard<std::mutex> guard(mtx_);
  auto& slot = fam(name, help, "counter").counters[render_labels(ls)];
  if (!slot) slot = std::make_unique<counter>();
  return *slot;
}

gauge& registry::get_gauge(const std::string& name, const std::string& help, const labels& ls) {
  std::lock_guard<std::mutex> guard(mtx_);
  auto& slot = fam(name, help, "gauge").gauges[render_labels(ls)];
  if (!slot) slot = std::make_unique<gauge>();
  return *slot;
}

histogram& registry::get_histogram(const std::string& name, const std::string& help,
                                   const labels& ls, std::vector<double> bounds) {
  std::lock_guard<std::mutex> guard(mtx_);
  auto& slot = fam(name, help, "histogram").histograms[render_labels(ls)];
  if (!slot) slot = std::make_unique<histogram>(std::move(bounds));
  return *slot;
}

void registry::add_collector(collector fn) {
  std::lock_guard<std::mutex> guard(mtx_);
  collectors_.push_back(std::move(fn));
}

std::string registry::render() const {
  std::string out;
  std::vector<collector> cs;
  {
    std::lock_guard<std::mutex> guard(mtx_);
    for (auto& [name, f] : families_) {
      write_header(out, name, f.type, f.help);
      for (auto& [ls, c] : f.counters)
        out += name + ls + " " + fmt(static_cast<double>(c->value())) + "\n";
      for (auto& [ls, g] : f.gauges)
        out += name + ls + " " + fmt(static_cast<double>(g->value())) + "\n";
      for (auto& [ls, h] : f.histograms) {
        auto cum = h->cumulative();
        for (std::size_t i = 0; i < h->bounds().size(); ++i)
          out += name + "_bucket" + with_label(ls, "le=\"" + fmt(h->bounds()[i]) + "\"") + " " +
                 fmt(static_cast<double>(cum[i])) + "\n";
        out += name + "_bucket" + with_label(ls, "le=\"+Inf\"") + " " +
               fmt(static_cast<double>(cum.back())) + "\n";
        out += name + "_sum" + ls + " " + fmt(h->sum()) + "\n";
        out += name + "_count" + ls + " " + fmt(static_cast<double>(cum.back())) + "\n";
      }
    }
    cs = collectors_;
  }
  for (auto& fn : cs)
    fn(out);
  return out;
}

} // namespace chorus::metrics
