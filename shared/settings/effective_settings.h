// effective_settings.h
//
// EffectiveSettings lists every value a node's bonds run with, each with where it came from:
// written in the settings document (local.conf today, the controller's push later) or left to
// the base policy's default. `fleetbond-cli settings show` prints it; the node API returns it.
//
// Paths are local.conf's JSON paths. A standard policy that is referenced but not defined is
// listed under its own name, every value a default.
//
// Example:
//   for (const EffectiveValue& v : EffectiveSettings(conf.settings, resolver, Source::kLocalConf))
//     std::cout << v.path << " = " << v.value << (v.source == Source::kDefault ? " (default)" :
//     "");
//   // settings.policies.fast-ab.failoverInterval = 1000
//   // settings.policies.fast-ab.upDelay = 0 (default)
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "fleetbond/v1/settings.pb.h"
#include "shared/settings/policy_resolver.h"

namespace fleetbond::settings {

// Source is where a value came from (v1::SettingSource without its UNSPECIFIED).
enum class Source { kDefault, kLocalConf, kController };

// SourceName is "default", "local.conf" or "controller".
const char* SourceName(Source source);
v1::SettingSource ToProto(Source source);

// SourceMap says who wrote each value of a document assembled from several writers (a
// controller's push merged with this node's local.conf): the longest listed path prefix that a
// value's path starts with names its source; values under no listed prefix have `fallback`.
//
// Example:
//   SourceMap m{.fallback = Source::kController,
//               .prefixes = {{"settings.policies.fast-ab.links.", Source::kLocalConf}}};
//   m.For("settings.policies.fast-ab.links.eth0.mode");  // kLocalConf
//   m.For("settings.policies.fast-ab.upDelay");          // kController
struct SourceMap {
  Source fallback = Source::kLocalConf;
  std::vector<std::pair<std::string, Source>> prefixes;

  Source For(const std::string& path) const;
};

// EffectiveValue is one value: its path, its JSON text ("1000", "\"always\"", "null") and source.
struct EffectiveValue {
  std::string path;
  std::string value;
  Source source = Source::kDefault;

  friend bool operator==(const EffectiveValue&, const EffectiveValue&) = default;
};

// EffectiveSettings lists defaultBondingPolicy, every peer-specific bond, then every policy of
// `resolver` (sorted by name) parameter by parameter, then its links. Values `written` holds are
// marked `written_source`; the rest kDefault.
std::vector<EffectiveValue> EffectiveSettings(const v1::Settings& written,
                                              const PolicyResolver& resolver,
                                              Source written_source);

// EffectiveSettings, for a document with several writers: a written value's source is
// `sources.For(path)`; values not written are kDefault as above.
std::vector<EffectiveValue> EffectiveSettings(const v1::Settings& written,
                                              const PolicyResolver& resolver,
                                              const SourceMap& sources);

}  // namespace fleetbond::settings
