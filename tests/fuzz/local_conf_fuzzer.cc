// Fuzz target: a node's local.conf as --check-config and the daemon read it: ParseLocalConf,
// ValidateSettings, PolicyResolver (CheckLocalConf runs all three), and the standalone keys
// "overlay" and "peers" (ParseStandaloneConfig). The input is the file's text.
//
// Properties checked beyond "no crash, no sanitizer report":
//   - every issue has a message, and FormatIssue renders it;
//   - SettingsToJson is the inverse of the parser: the settings read from any input, written
//     back and parsed again, are the same settings, without a new issue;
//   - a valid file resolves a policy for every peer that peerSpecificBonds names.
#include <cstddef>
#include <cstdint>
#include <string>

#include "google/protobuf/util/message_differencer.h"
#include "node/daemon/standalone_config.h"
#include "shared/settings/local_conf_loader.h"
#include "shared/settings/local_conf_parser.h"
#include "shared/settings/settings_issue.h"
#include "shared/settings/settings_json.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fleetbond;
  const std::string text(reinterpret_cast<const char*>(data), size);

  settings::LocalConfCheck check = settings::CheckLocalConf(text);
  for (const settings::Issue& issue : check.issues) {
    FB_FUZZ_CHECK(!issue.message.empty());
    FB_FUZZ_CHECK(!settings::FormatIssue(issue).empty());
  }
  FB_FUZZ_CHECK(check.valid() == !settings::HasErrors(check.issues));

  daemon::ParsedStandaloneConfig standalone = daemon::ParseStandaloneConfig(check.conf);
  for (const settings::Issue& issue : standalone.issues) FB_FUZZ_CHECK(!issue.message.empty());

  // Round trip of whatever the parser could read.
  const std::string written =
      nlohmann::json{{"settings", settings::SettingsToJson(check.conf.settings)}}.dump();
  settings::ParsedLocalConf again = settings::ParseLocalConf(written);
  FB_FUZZ_CHECK(again.issues.empty());
  FB_FUZZ_CHECK(
      google::protobuf::util::MessageDifferencer::Equals(again.conf.settings, check.conf.settings));

  if (check.valid()) {
    for (const auto& [peer, policy] : check.resolver->peer_specific_bonds()) {
      FB_FUZZ_CHECK(check.resolver->ForPeer(peer).has_value());
    }
    if (check.resolver->default_policy().has_value()) {
      FB_FUZZ_CHECK(check.resolver->Find(*check.resolver->default_policy()) != nullptr);
    }
  }
  return 0;
}
