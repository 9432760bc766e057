// exposition.h: reading scraped families back in tests, by family name and label set.
#pragma once

#include <prometheus/metric_family.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace fleetbond::metrics {

using LabelMap = std::map<std::string, std::string>;

// FindFamily returns the family named `name`, or null.
inline const prometheus::MetricFamily* FindFamily(
    const std::vector<prometheus::MetricFamily>& families, absl::string_view name) {
  for (const prometheus::MetricFamily& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

inline LabelMap Labels(const prometheus::ClientMetric& m) {
  LabelMap out;
  for (const auto& l : m.label) out[l.name] = l.value;
  return out;
}

// Value is the value of the series of family `name` with exactly `labels`; nullopt if absent.
inline std::optional<double> Value(const std::vector<prometheus::MetricFamily>& families,
                                   absl::string_view name, const LabelMap& labels) {
  const prometheus::MetricFamily* f = FindFamily(families, name);
  if (f == nullptr) return std::nullopt;
  for (const prometheus::ClientMetric& m : f->metric) {
    if (Labels(m) != labels) continue;
    return f->type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
  }
  return std::nullopt;
}

// SeriesWith counts the series of all families that carry label `name`="value".
inline int SeriesWith(const std::vector<prometheus::MetricFamily>& families, absl::string_view name,
                      absl::string_view value) {
  int n = 0;
  for (const prometheus::MetricFamily& f : families) {
    for (const prometheus::ClientMetric& m : f.metric) {
      for (const auto& l : m.label) {
        if (l.name == name && l.value == value) ++n;
      }
    }
  }
  return n;
}

}  // namespace fleetbond::metrics
