#pragma once
// Prometheus-style metrics: lock-free counters, gauges and histograms, created once
// (under a mutex) and then updated with atomics from any thread. Values that live
// elsewhere (actor registry, pool stats) are pulled at scrape time by collectors.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace chorus::metrics {

using labels = std::vector<std::pair<std::string, std::string>>;

class counter {
public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> value_{0};
};

class gauge {
public:
  void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t v) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::int64_t> value_{0};
};

class histogram {
public:
  explicit histogram(std::vector<double> bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Cumulative counts per bound (Prometheus `le` semantics) plus +Inf last.
  std::vector<std::uint64_t> cumulative() const;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept;
  // Value at quantile q (0..1), interpolated within the bucket; for tests and benches.
  double quantile(double q) const;

private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_; // bounds_.size() + 1
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micro_{0};
};

// Default latency buckets in seconds (1 ms .. 10 s).
std::vector<double> latency_buckets();

// Text helpers for collectors.
std::string escape_label(const std::string& v);
std::string render_labels(const labels& ls);

class registry {
public:
  using collector = std::function<void(std::string& out)>;

  counter& get_counter(const std::string& name, const std::string& help, const labels& ls = {});
  gauge& get_gauge(const std::string& name, const std::string& help, const labels& ls = {});
  histogram& get_histogram(const std::string& name, const std::string& help, const labels& ls = {},
                           std::vector<double> bounds = latency_buckets());
  // Collectors append complete families (with # HELP / # TYPE) at scrape time.
  void add_collector(collector fn);

  // The whole exposition in Prometheus text format 0.0.4.
  std::string render() const;

private:
  struct family {
    std::string help;
    std::string type;
    std::map<std::string, std::unique_ptr<counter>> counters;
    std::map<std::string, std::unique_ptr<gauge>> gauges;
    std::map<std::string, std::unique_ptr<histogram>> histograms;
  };
  family& fam(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mtx_;
  std::map<std::string, family> families_;
  std::vector<collector> collectors_;
};

// Appends a `# HELP`/`# TYPE` header.
void write_header(std::string& out, const std::string& name, const std::string& type,
                  const std::string& help);
void write_sample(std::string& out, const std::string& name, const labels& ls, double value);

} // namespace chorus::metrics
