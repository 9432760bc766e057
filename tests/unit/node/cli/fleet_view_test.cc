#include "node/cli/fleet_view.h"

#include <gtest/gtest.h>

namespace fleetbond::cli {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

int64_t MsBeforeNow(absl::Duration d) { return absl::ToUnixMillis(kNow - d); }

v1::NodeStatus BerlinEdge() {
  v1::NodeStatus n;
  n.set_id("10a0b0c0d0");
  (*n.mutable_labels())["site"] = "berlin";
  (*n.mutable_labels())["role"] = "edge";
  n.set_connected(true);
  n.set_overlay_address("10.147.0.2");
  n.set_software_version("0.1.0");
  n.set_acked_version(6);
  n.set_desired_version(7);
  n.set_nacked_version(7);
  n.set_last_nack_error(
      "settings.policies.fast-ab.links.eth9.failoverTo: link \"eth7\" is not defined in policy");
  n.set_last_seen_unix_ms(MsBeforeNow(absl::Seconds(12)));
  n.add_endpoints("10.201.0.2/9800");
  n.add_endpoints("10.201.1.2/9800");
  n.set_public_key("b64key=");
  return n;
}

TEST(FleetView, NodesTableShowsAgesLabelsInKeyOrderAndTheStartOfTheNackError) {
  v1::ListNodesResponse nodes;
  *nodes.add_nodes() = BerlinEdge();
  v1::NodeStatus never;
  never.set_id("2f33b459c1");
  never.set_desired_version(7);
  *nodes.add_nodes() = never;
  EXPECT_EQ(RenderNodes(nodes, kNow),
            "<node>      <connected>  <overlay>   <version>  <acked/desired>  <last seen>  "
            "<labels>               <last nack>\n" +
                std::string(141, '-') +  // as wide as the widest row
                "\n"
                "10a0b0c0d0  yes          10.147.0.2  0.1.0                  6/7  12s ago      "
                "role=edge,site=berlin  settings.policies.fast-ab.links.eth9....\n"
                "2f33b459c1  no           -           -                      -/7  never        -"
                "                      -\n");
}

TEST(FleetView, NodeShowsEveryFieldWithTheWholeNackError) {
  EXPECT_EQ(RenderNode(BerlinEdge(), kNow),
            "Node             : 10a0b0c0d0\n"
            "Labels           : role=edge,site=berlin\n"
            "Connected        : yes\n"
            "Last Seen        : 2023-11-14T22:13:08Z (12s ago)\n"
            "Overlay          : 10.147.0.2\n"
            "Software Version : 0.1.0\n"
            "Public Key       : b64key=\n"
            "Endpoints        : 10.201.0.2/9800,10.201.1.2/9800\n"
            "Desired Version  : 7\n"
            "Acked Version    : 6\n"
            "Nacked Version   : 7\n"
            "Last NACK Error  : settings.policies.fast-ab.links.eth9.failoverTo: link \"eth7\" is "
            "not defined in policy\n");
}

TEST(FleetView, AgeCountsUpToNowAndNeverForUnseen) {
  EXPECT_EQ(FormatAge(MsBeforeNow(absl::Minutes(3) + absl::Seconds(4)), kNow), "3m 4s ago");
  EXPECT_EQ(FormatAge(0, kNow), "never");
  // A clock behind the controller's does not print a negative age.
  EXPECT_EQ(FormatAge(absl::ToUnixMillis(kNow + absl::Seconds(5)), kNow), "0s ago");
}

TEST(FleetView, EventLineNamesTimeNodeKindAndDetail) {
  v1::FleetEvent failover;
  failover.set_unix_time_ms(absl::ToUnixMillis(kNow) + 250);
  failover.set_node_id("10a0b0c0d0");
  failover.set_kind(v1::FleetEvent::KIND_FAILOVER);
  failover.set_peer("2f33b459c1");
  failover.set_detail("eth0 -> eth1");
  EXPECT_EQ(RenderEvent(failover),
            "2023-11-14T22:13:20.250Z  10a0b0c0d0  failover          peer 2f33b459c1: eth0 -> "
            "eth1\n");

  v1::FleetEvent changed;
  changed.set_unix_time_ms(absl::ToUnixMillis(kNow));
  changed.set_kind(v1::FleetEvent::KIND_SETTINGS_CHANGED);
  changed.set_version(8);
  EXPECT_EQ(RenderEvent(changed), "2023-11-14T22:13:20.000Z  -  settings-changed  version 8\n");

  v1::FleetEvent odd;
  odd.set_unix_time_ms(absl::ToUnixMillis(kNow));
  odd.set_node_id("10a0b0c0d0");
  odd.set_kind(static_cast<v1::FleetEvent::Kind>(42));
  EXPECT_EQ(RenderEvent(odd), "2023-11-14T22:13:20.000Z  10a0b0c0d0  kind-42\n");
}

TEST(FleetView, SettingsShowPrintsOneScopeOrEveryDocument) {
  v1::FleetSettings s;
  s.set_version(7);
  s.set_local_conf_json("{\"settings\": {}}");
  v1::ScopedSettings* berlin = s.add_scopes();
  berlin->set_scope("site=berlin");
  berlin->set_local_conf_json("{\"settings\": {\"defaultBondingPolicy\": \"ab\"}}\n");
  EXPECT_EQ(RenderFleetSettings(s, "", false),
            "settings version 7\n"
            "\nfleet-wide:\n{\"settings\": {}}\n"
            "\nscope site=berlin:\n{\"settings\": {\"defaultBondingPolicy\": \"ab\"}}\n");
  EXPECT_EQ(RenderFleetSettings(s, "", true),
            "settings version 7\n\nfleet-wide:\n{\"settings\": {}}\n");
  EXPECT_EQ(RenderFleetSettings(s, "site=berlin", true),
            "settings version 7\n\nscope site=berlin:\n{\"settings\": {}}\n");
}

TEST(FleetView, ValidationCountsErrorsAndListsEveryIssue) {
  v1::ValidateSettingsResponse v;
  v.set_valid(false);
  v1::SettingsIssue* e = v.add_issues();
  e->set_severity(v1::SettingsIssue::SEVERITY_ERROR);
  e->set_path("settings.policies.x.basePolicy");
  e->set_message("unknown base policy \"fast\"");
  v1::SettingsIssue* w = v.add_issues();
  w->set_severity(v1::SettingsIssue::SEVERITY_WARNING);
  w->set_message("policy \"y\" is not used");
  EXPECT_EQ(RenderValidation(v),
            "settings invalid: 1 error\n"
            "error: settings.policies.x.basePolicy: unknown base policy \"fast\"\n"
            "warning: policy \"y\" is not used\n");
  v.set_valid(true);
  v.mutable_issues()->DeleteSubrange(0, 1);
  EXPECT_EQ(RenderValidation(v), "settings valid\nwarning: policy \"y\" is not used\n");
}

}  // namespace
}  // namespace fleetbond::cli
