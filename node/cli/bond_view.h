// bond_view.h
//
// The text of fleetbond-cli's bond commands, in the spec's zerotier-cli layout (docs/cli.md):
//   RenderBondList   `bond list`          <peer> <bondtype> <links>
//   RenderBondShow   `bond <peer> show`   the header block, the paths table, the metrics table
//   RenderRotation   `bond <peer> rotate` "active link rotated from <link/path> to <link/path>"
// They read the API's messages, so what the CLI prints is what a script gets with -j.
#pragma once

#include <string>

#include "fleetbond/v1/node.pb.h"

namespace fleetbond::cli {

// BondTypeName is the bond's policy name; a custom policy adds its base: "fast-ab (active-backup)".
std::string BondTypeName(const v1::BondSummary& summary);

std::string RenderBondList(const v1::ListBondsResponse& bonds);
std::string RenderBondShow(const v1::Bond& bond);
std::string RenderRotation(const v1::RotateBondResponse& rotation);

}  // namespace fleetbond::cli
