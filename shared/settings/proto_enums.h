// proto_enums.h
//
// Conversions between the schema's enums (fleetbond.v1) and the engine's (policy.h). The schema
// has an UNSPECIFIED zero value that the engine has no use for: converting it gives nullopt.
#pragma once

#include <optional>

#include "fleetbond/v1/settings.pb.h"
#include "shared/settings/policy.h"

namespace fleetbond::settings {

v1::BasePolicy ToProto(BasePolicy p);
v1::LinkSelectMethod ToProto(LinkSelectMethod m);
v1::LinkMode ToProto(LinkMode m);  // kNone -> LINK_MODE_UNSPECIFIED

std::optional<BasePolicy> FromProto(v1::BasePolicy p);
std::optional<LinkSelectMethod> FromProto(v1::LinkSelectMethod m);
std::optional<LinkMode> FromProto(v1::LinkMode m);  // UNSPECIFIED -> nullopt

}  // namespace fleetbond::settings
