#include "node/cli/node_view.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/cli/bond_view.h"
#include "shared/text_table.h"

namespace fleetbond::cli {

std::string FormatUptime(uint64_t ms) {
  uint64_t s = ms / 1000;
  const uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
  s %= 60;
  if (d > 0) return absl::StrCat(d, "d ", h, "h ", m, "m ", s, "s");
  if (h > 0) return absl::StrCat(h, "h ", m, "m ", s, "s");
  if (m > 0) return absl::StrCat(m, "m ", s, "s");
  return absl::StrCat(s, "s");
}

std::string RenderInfo(const v1::NodeInfo& info) {
  KeyValueList kv;
  kv.Add("Node", info.id());
  kv.Add("Public Key", info.public_key());
  kv.Add("Version", info.version());
  kv.Add("Overlay",
         info.overlay_address().empty()
             ? absl::StrCat("none (on ", info.tun(), ")")
             : absl::StrCat(info.overlay_address(), " on ", info.tun(), " (MTU ", info.mtu(), ")"));
  kv.Add("Data Plane Port", absl::StrCat("UDP ", info.port()));
  kv.Add("Peers", absl::StrCat(info.peers()));
  kv.Add("Controller", info.controller_connected() ? "connected" : "none (standalone)");
  kv.Add("Settings From",
         info.settings_source() == v1::SETTING_SOURCE_CONTROLLER ? "controller" : "local.conf");
  kv.Add("Uptime", FormatUptime(info.uptime_ms()));
  return kv.Render();
}

std::string RenderPeers(const v1::ListPeersResponse& peers) {
  TextTable t({"<peer>", "<overlay>", "<bondtype>", "<links>", "<heard>", "<endpoints>"});
  t.AlignRight(3);
  t.AlignRight(4);
  for (const v1::Peer& p : peers.peers()) {
    v1::BondSummary s;
    s.set_policy_name(p.policy_name());
    s.set_base_policy(p.base_policy());
    t.AddRow({p.id(), p.overlay_address(), p.policy_name().empty() ? "-" : BondTypeName(s),
              absl::StrCat(p.usable_links(), "/", p.total_links()),
              p.has_last_heard_ms() ? absl::StrCat(p.last_heard_ms(), " ms ago") : "never",
              absl::StrJoin(p.endpoints(), ",")});
  }
  return t.Render();
}

}  // namespace fleetbond::cli
