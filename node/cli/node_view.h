// node_view.h
//
// The text of `fleetbond-cli info` (this node's identity and overlay) and `fleetbond-cli peers`
// (its peers and how their bonds are doing), from the API's messages.
#pragma once

#include <string>

#include "fleetbond/v1/node.pb.h"

namespace fleetbond::cli {

std::string RenderInfo(const v1::NodeInfo& info);
std::string RenderPeers(const v1::ListPeersResponse& peers);

// FormatUptime is "3d 4h 5m 6s", leaving out leading zero units ("5m 6s").
std::string FormatUptime(uint64_t ms);

}  // namespace fleetbond::cli
