#include "common/metrics.hpp"

#include <gtest/gtest.h>
#include <thread>

using namespace chorus::metrics;

TEST(Metrics, CountersAreSharedByNameAndLabels) {
  registry r;
  r.get_counter("x_total", "help", {{"a", "1"}}).inc();
  r.get_counter("x_total", "help", {{"a", "1"}}).inc(2);
  r.get_counter("x_total", "help", {{"a", "2"}}).inc();
  auto text = r.render();
  EXPECT_NE(text.find("# TYPE x_total counter"), std::string::npos);
  EXPECT_NE(text.find("x_total{a=\"1\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_total{a=\"2\"} 1\n"), std::string::npos) << text;
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  registry r;
  auto& h = r.get_histogram("lat_seconds", "help", {{"route", "/x"}}, {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  auto text = r.render();
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/x\",le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_count{route=\"/x\"} 3\n"), std::string::npos) << text;
  EXPECT_NEAR(h.sum(), 5.55, 1e-6);
}

TEST(Metrics, QuantileInterpolates) {
  histogram h({1, 2, 3, 4});
  for (int i = 0; i < 100; ++i)
    h.observe(i < 50 ? 0.5 : 2.5);
  EXPECT_LE(h.quantile(0.5), 1.0);
  EXPECT_GT(h.quantile(0.99), 2.0);
  EXPECT_LE(h.quantile(0.99), 3.0);
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(render_labels({{"k", "a\"b\\c\nd"}}), "{k=\"a\\\"b\\\\c\\nd\"}");
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  registry r;
  auto& c = r.get_counter("c_total", "help");
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i)
        c.inc();
    });
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(c.value(), 40000u);
}

TEST(Metrics, TypeClashIsRejected) {
  registry r;
  r.get_counter("m", "help");
  EXPECT_THROW(r.get_gauge("m", "help"), std::logic_error);
}

TEST(Metrics, CollectorsAppendAtScrapeTime) {
  registry r;
  int calls = 0;
  r.add_collector([&](std::string& out) {
    ++calls;
    write_header(out, "pulled", "gauge", "pulled value");
    write_sample(out, "pulled", {{"kind", "x"}}, 42);
  });
  auto text = r.render();
  EXPECT_EQ(calls, 1);
  EXPECT_NE(text.find("pulled{kind=\"x\"} 42\n"), std::string::npos) << text;
}
