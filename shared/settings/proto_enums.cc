#include "shared/settings/proto_enums.h"

namespace fleetbond::settings {

v1::BasePolicy ToProto(BasePolicy p) {
  switch (p) {
    case BasePolicy::kActiveBackup:
      return v1::BASE_POLICY_ACTIVE_BACKUP;
    case BasePolicy::kBroadcast:
      return v1::BASE_POLICY_BROADCAST;
    case BasePolicy::kBalanceRr:
      return v1::BASE_POLICY_BALANCE_RR;
    case BasePolicy::kBalanceXor:
      return v1::BASE_POLICY_BALANCE_XOR;
    case BasePolicy::kBalanceAware:
      return v1::BASE_POLICY_BALANCE_AWARE;
  }
  return v1::BASE_POLICY_UNSPECIFIED;
}

v1::LinkSelectMethod ToProto(LinkSelectMethod m) {
  switch (m) {
    case LinkSelectMethod::kOptimize:
      return v1::LINK_SELECT_METHOD_OPTIMIZE;
    case LinkSelectMethod::kAlways:
      return v1::LINK_SELECT_METHOD_ALWAYS;
    case LinkSelectMethod::kBetter:
      return v1::LINK_SELECT_METHOD_BETTER;
    case LinkSelectMethod::kFailure:
      return v1::LINK_SELECT_METHOD_FAILURE;
  }
  return v1::LINK_SELECT_METHOD_UNSPECIFIED;
}

v1::LinkMode ToProto(LinkMode m) {
  switch (m) {
    case LinkMode::kPrimary:
      return v1::LINK_MODE_PRIMARY;
    case LinkMode::kSpare:
      return v1::LINK_MODE_SPARE;
    case LinkMode::kNone:
      break;
  }
  return v1::LINK_MODE_UNSPECIFIED;
}

std::optional<BasePolicy> FromProto(v1::BasePolicy p) {
  switch (p) {
    case v1::BASE_POLICY_ACTIVE_BACKUP:
      return BasePolicy::kActiveBackup;
    case v1::BASE_POLICY_BROADCAST:
      return BasePolicy::kBroadcast;
    case v1::BASE_POLICY_BALANCE_RR:
      return BasePolicy::kBalanceRr;
    case v1::BASE_POLICY_BALANCE_XOR:
      return BasePolicy::kBalanceXor;
    case v1::BASE_POLICY_BALANCE_AWARE:
      return BasePolicy::kBalanceAware;
    default:
      return std::nullopt;
  }
}

std::optional<LinkSelectMethod> FromProto(v1::LinkSelectMethod m) {
  switch (m) {
    case v1::LINK_SELECT_METHOD_OPTIMIZE:
      return LinkSelectMethod::kOptimize;
    case v1::LINK_SELECT_METHOD_ALWAYS:
      return LinkSelectMethod::kAlways;
    case v1::LINK_SELECT_METHOD_BETTER:
      return LinkSelectMethod::kBetter;
    case v1::LINK_SELECT_METHOD_FAILURE:
      return LinkSelectMethod::kFailure;
    default:
      return std::nullopt;
  }
}

std::optional<LinkMode> FromProto(v1::LinkMode m) {
  switch (m) {
    case v1::LINK_MODE_PRIMARY:
      return LinkMode::kPrimary;
    case v1::LINK_MODE_SPARE:
      return LinkMode::kSpare;
    default:
      return std::nullopt;
  }
}

}  // namespace fleetbond::settings
