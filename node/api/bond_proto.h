// bond_proto.h
//
// The node API's view of the bond engine: BondSnapshot (node/bond/bond.h) converted to the
// fleetbond.v1 messages that the local API returns and that fleetbond-cli, scripts and the
// metrics exporter read. Durations become whole milliseconds; what was never measured or never
// happened is left unset (rx_age_ms of a path never heard) rather than given a made-up value.
//
// Example:
//   v1::Bond bond = BondToProto(data_plane.Snapshot("77dcbe7120").value(), /*port=*/9800);
#pragma once

#include <cstdint>
#include <string>

#include "fleetbond/v1/node.pb.h"
#include "node/bond/bond.h"

namespace fleetbond::api {

// BondToProto converts a bond; `port` is the node's data-plane port (the `socket` column is the
// local address and port a path sends from).
v1::Bond BondToProto(const bond::BondSnapshot& snapshot, uint16_t port);

// SummaryToProto is the `bond list` row of a bond.
v1::BondSummary SummaryToProto(const bond::BondSnapshot& snapshot);

// PathName is "<link>/<remote ip>/<remote port>", e.g. "eth0/10.201.0.2/9800": how rotate and
// the active link name a path.
std::string PathName(const bond::PathSpec& spec);

}  // namespace fleetbond::api
