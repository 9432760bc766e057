// settings_view.h
//
// The text of `fleetbond-cli settings show` (every effective value with where it came from:
// local.conf, the controller, or a default) and `settings apply` (applied, and its warnings).
#pragma once

#include <string>

#include "fleetbond/v1/node.pb.h"

namespace fleetbond::cli {

std::string RenderSettings(const v1::GetSettingsResponse& settings);
std::string RenderApplied(const v1::ApplySettingsResponse& applied);

}  // namespace fleetbond::cli
