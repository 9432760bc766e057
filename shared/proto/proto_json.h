// proto_json.h
//
// ProtoToJson renders any protobuf message as the JSON that fleetbond's `-j` outputs print:
// the field names of the proto3 JSON mapping (lowerCamelCase, or the field's json_name), every
// field present so the set of keys is stable for a monitoring system, and values as such a
// system wants them:
//   - 64-bit integers are JSON numbers (the proto3 mapping makes them strings);
//   - enums are their value names ("BASE_POLICY_ACTIVE_BACKUP");
//   - an unset `optional` field or message field is null; repeated fields are arrays, maps
//     objects.
//
// Example:
//   v1::Bond bond = ...;
//   std::cout << ProtoToJson(bond).dump(2);
#pragma once

#include <google/protobuf/message.h>

#include "nlohmann/json.hpp"

namespace fleetbond {

// ProtoToJson converts `message` as described above.
nlohmann::json ProtoToJson(const google::protobuf::Message& message);

}  // namespace fleetbond
