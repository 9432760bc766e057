#include "node/api/bond_proto.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "shared/settings/proto_enums.h"

namespace fleetbond::api {
namespace {

// Ms is a duration in whole milliseconds, rounded down; never negative.
uint64_t Ms(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  return ms < 0 ? 0 : static_cast<uint64_t>(ms);
}

}  // namespace

std::string PathName(const bond::PathSpec& spec) {
  return absl::StrCat(spec.link, "/", spec.remote);
}

v1::BondSummary SummaryToProto(const bond::BondSnapshot& s) {
  v1::BondSummary out;
  out.set_peer(s.peer);
  out.set_policy_name(s.policy_name);
  out.set_base_policy(settings::ToProto(s.base));
  out.set_usable_links(static_cast<uint32_t>(s.usable_links));
  out.set_total_links(static_cast<uint32_t>(s.total_links));
  return out;
}

v1::Bond BondToProto(const bond::BondSnapshot& s, uint16_t port) {
  v1::Bond out;
  *out.mutable_summary() = SummaryToProto(s);
  out.set_link_select_method(settings::ToProto(s.link_select_method));
  out.set_failover_interval_ms(static_cast<uint32_t>(Ms(s.failover_interval)));
  out.set_up_delay_ms(static_cast<uint32_t>(Ms(s.up_delay)));
  out.set_down_delay_ms(static_cast<uint32_t>(Ms(s.down_delay)));
  out.set_packets_per_link(s.packets_per_link);
  out.set_failovers(s.failovers);
  out.set_probe_interval_ms(static_cast<uint32_t>(Ms(s.probe_interval)));
  out.set_flows(s.flows);
  out.set_flow_evictions(s.flow_evictions);
  if (s.active_path != bond::kNoPath) out.set_active_path(s.active_path);
  for (const bond::PathSnapshot& p : s.paths) {
    v1::Path* path = out.add_paths();
    path->set_idx(p.id);
    path->set_interface(p.spec.link);
    path->set_local_address(p.spec.local);
    path->set_remote_endpoint(p.spec.remote);
    path->set_socket(absl::StrCat(p.spec.local, "/", port));
    path->set_measured(p.metrics.measured);
    path->set_latency_ms(p.metrics.latency_ms);
    path->set_pdv_ms(p.metrics.pdv_ms);
    path->set_loss_ratio(p.metrics.plr);
    path->set_error_ratio(p.metrics.per);
    if (p.speed.has_value()) path->set_capacity(*p.speed);
    path->set_allocation(p.alloc);
    path->set_target_allocation(p.target);
    if (p.rx_age != absl::InfiniteDuration()) path->set_rx_age_ms(Ms(p.rx_age));
    if (p.tx_age != absl::InfiniteDuration()) path->set_tx_age_ms(Ms(p.tx_age));
    path->set_eligible(p.eligible);
    path->set_bonded(p.bonded);
    path->set_flows(static_cast<uint32_t>(p.flows));
    path->set_tx_packets(p.tx_packets);
    path->set_rx_packets(p.rx_packets);
    path->set_tx_bytes(p.tx_bytes);
    path->set_rx_bytes(p.rx_bytes);
    path->set_active(s.active_path != bond::kNoPath && p.id == s.active_path);
    path->set_state(bond::PathStateName(p.state));
    path->set_carrier(p.carrier);
    path->set_breaking(p.breaking);
    path->set_bad_packets(p.bad_packets);
    path->set_probes_sent(p.probes_sent);
  }
  return out;
}

}  // namespace fleetbond::api
