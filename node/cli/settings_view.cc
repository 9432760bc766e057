#include "node/cli/settings_view.h"

#include "absl/strings/str_cat.h"
#include "shared/text_table.h"

namespace fleetbond::cli {
namespace {

const char* SourceName(v1::SettingSource s) {
  switch (s) {
    case v1::SETTING_SOURCE_LOCAL_CONF:
      return "local.conf";
    case v1::SETTING_SOURCE_CONTROLLER:
      return "controller";
    case v1::SETTING_SOURCE_DEFAULT:
      return "default";
    default:
      return "-";
  }
}

std::string Warning(const v1::SettingsIssue& w) {
  return absl::StrCat("warning: ", w.path().empty() ? "" : absl::StrCat(w.path(), ": "),
                      w.message(), "\n");
}

}  // namespace

std::string RenderSettings(const v1::GetSettingsResponse& settings) {
  TextTable t({"setting", "value", "source"});
  for (const v1::EffectiveSetting& e : settings.effective()) {
    t.AddRow({e.path(), e.value(), SourceName(e.source())});
  }
  std::string out = t.Render();
  for (const v1::SettingsIssue& w : settings.warnings()) out += Warning(w);
  return out;
}

std::string RenderApplied(const v1::ApplySettingsResponse& applied) {
  std::string out = "settings applied\n";
  for (const v1::SettingsIssue& w : applied.warnings()) out += Warning(w);
  return out;
}

}  // namespace fleetbond::cli
