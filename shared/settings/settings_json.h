// settings_json.h
//
// SettingsToJson writes Settings back in local.conf's own form ("defaultBondingPolicy",
// "basePolicy": "active-backup", "mode": "spare", ...): the inverse of ParseLocalConf for the
// "settings" object. Only what the document sets is written, so parsing the output gives the
// same Settings again. The node API's GetSettings returns it; the controller will too.
//
// Example:
//   nlohmann::json doc = {{"settings", SettingsToJson(conf.settings)}};
//   std::cout << doc.dump(2);
#pragma once

#include "fleetbond/v1/settings.pb.h"
#include "nlohmann/json.hpp"

namespace fleetbond::settings {

nlohmann::json SettingsToJson(const v1::Settings& settings);

}  // namespace fleetbond::settings
