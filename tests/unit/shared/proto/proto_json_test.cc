#include "shared/proto/proto_json.h"

#include <gtest/gtest.h>

#include "fleetbond/v1/node.pb.h"

namespace fleetbond {
namespace {

TEST(ProtoToJson, CountersAreNumbersAndEveryKeyIsPresent) {
  v1::Path p;
  p.set_tx_bytes(uint64_t{1} << 40);
  p.set_interface("eth0");
  nlohmann::json j = ProtoToJson(p);
  EXPECT_TRUE(j["txBytes"].is_number_unsigned());
  EXPECT_EQ(j["txBytes"].get<uint64_t>(), uint64_t{1} << 40);
  EXPECT_EQ(j["interface"], "eth0");
  // Unset proto3 `optional` fields are null, ordinary ones their zero value.
  EXPECT_TRUE(j.contains("rxAgeMs"));
  EXPECT_TRUE(j["rxAgeMs"].is_null());
  EXPECT_EQ(j["rxPackets"], 0);
  EXPECT_EQ(j["eligible"], false);
}

TEST(ProtoToJson, EnumsByNameMessagesNestedRepeatedAsArrays) {
  v1::ListBondsResponse list;
  v1::BondSummary* s = list.add_bonds();
  s->set_peer("77dcbe7120");
  s->set_base_policy(v1::BASE_POLICY_BALANCE_XOR);
  nlohmann::json j = ProtoToJson(list);
  ASSERT_TRUE(j["bonds"].is_array());
  EXPECT_EQ(j["bonds"][0]["basePolicy"], "BASE_POLICY_BALANCE_XOR");
  EXPECT_EQ(j["bonds"][0]["peer"], "77dcbe7120");
  EXPECT_EQ(j["bonds"][0]["usableLinks"], 0);
}

TEST(ProtoToJson, MapsAreObjects) {
  v1::Settings s;
  (*s.mutable_peer_specific_bonds())["f6203a2db3"] = "fast";
  nlohmann::json j = ProtoToJson(s);
  EXPECT_EQ(j["peerSpecificBonds"]["f6203a2db3"], "fast");
  EXPECT_TRUE(j["defaultBondingPolicy"].is_null());
}

}  // namespace
}  // namespace fleetbond
