#include "node/transport/peer_keys.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::transport {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::testing::HasSubstr;

std::vector<uint8_t> Bytes(const AeadKey& key) {
  return std::vector<uint8_t>(key.data(), key.data() + key.size());
}

Identity NewIdentity() {
  auto identity = Identity::Generate();
  EXPECT_THAT(identity, IsOk());
  return std::move(identity).value();
}

std::vector<uint8_t> HmacSha256(const std::vector<uint8_t>& key, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(32);
  size_t len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      data.data(), data.size(), out.data(), out.size(), &len),
            nullptr);
  EXPECT_EQ(len, 32u);
  return out;
}

// ReferenceHkdf is RFC 5869 written out with HMAC, independent of the EVP_KDF code under test.
std::vector<uint8_t> ReferenceHkdf(const std::vector<uint8_t>& ikm, const std::string& salt,
                                   const std::vector<uint8_t>& info, size_t length) {
  std::vector<uint8_t> prk = HmacSha256(std::vector<uint8_t>(salt.begin(), salt.end()), ikm);
  std::vector<uint8_t> okm, t;
  for (uint8_t i = 1; okm.size() < length; ++i) {
    std::vector<uint8_t> block = t;
    block.insert(block.end(), info.begin(), info.end());
    block.push_back(i);
    t = HmacSha256(prk, block);
    okm.insert(okm.end(), t.begin(), t.end());
  }
  okm.resize(length);
  return okm;
}

TEST(PeerKeys, BothSidesDeriveMatchingDirectionalKeys) {
  Identity a = NewIdentity();
  Identity b = NewIdentity();
  auto ab = DerivePeerKeys(a, b.public_key());
  auto ba = DerivePeerKeys(b, a.public_key());
  ASSERT_THAT(ab, IsOk());
  ASSERT_THAT(ba, IsOk());
  EXPECT_EQ(Bytes(ab->send), Bytes(ba->receive));
  EXPECT_EQ(Bytes(ab->receive), Bytes(ba->send));
  EXPECT_EQ(ab->epoch, kStaticKeyEpoch);
  EXPECT_EQ(ba->epoch, kStaticKeyEpoch);
}

TEST(PeerKeys, EachDirectionHasItsOwnKey) {
  Identity a = NewIdentity();
  Identity b = NewIdentity();
  auto ab = DerivePeerKeys(a, b.public_key());
  ASSERT_THAT(ab, IsOk());
  EXPECT_NE(Bytes(ab->send), Bytes(ab->receive));
}

TEST(PeerKeys, DifferentPeersGetDifferentKeys) {
  Identity a = NewIdentity();
  Identity b = NewIdentity();
  Identity c = NewIdentity();
  auto ab = DerivePeerKeys(a, b.public_key());
  auto ac = DerivePeerKeys(a, c.public_key());
  ASSERT_THAT(ab, IsOk());
  ASSERT_THAT(ac, IsOk());
  EXPECT_NE(Bytes(ab->send), Bytes(ac->send));
  EXPECT_NE(Bytes(ab->receive), Bytes(ac->receive));
}

TEST(PeerKeys, MatchesDocumentedHkdfDerivation) {
  Identity a = NewIdentity();
  Identity b = NewIdentity();
  auto shared = a.ComputeSharedSecret(b.public_key());
  ASSERT_THAT(shared, IsOk());
  const PublicKey& lower = std::min(a.public_key(), b.public_key());
  const PublicKey& higher = std::max(a.public_key(), b.public_key());
  std::string label = "fleetbond v1 ";
  std::vector<uint8_t> info(label.begin(), label.end());
  info.push_back(kStaticKeyEpoch);
  info.insert(info.end(), lower.begin(), lower.end());
  info.insert(info.end(), higher.begin(), higher.end());
  std::vector<uint8_t> okm =
      ReferenceHkdf(std::vector<uint8_t>(shared->data(), shared->data() + shared->size()),
                    "fleetbond v1 peer keys", info, 64);
  std::vector<uint8_t> lower_to_higher(okm.begin(), okm.begin() + 32);
  std::vector<uint8_t> higher_to_lower(okm.begin() + 32, okm.end());

  auto ab = DerivePeerKeys(a, b.public_key());
  ASSERT_THAT(ab, IsOk());
  bool a_is_lower = a.public_key() < b.public_key();
  EXPECT_EQ(Bytes(ab->send), a_is_lower ? lower_to_higher : higher_to_lower);
  EXPECT_EQ(Bytes(ab->receive), a_is_lower ? higher_to_lower : lower_to_higher);
}

TEST(PeerKeys, EpochIsBoundIntoTheKeys) {
  Identity a = NewIdentity();
  Identity b = NewIdentity();
  auto shared = a.ComputeSharedSecret(b.public_key());
  ASSERT_THAT(shared, IsOk());
  auto epoch0 = DerivePeerKeysFromSecret(*shared, 0, a.public_key(), b.public_key());
  auto epoch1 = DerivePeerKeysFromSecret(*shared, 1, a.public_key(), b.public_key());
  ASSERT_THAT(epoch0, IsOk());
  ASSERT_THAT(epoch1, IsOk());
  EXPECT_EQ(epoch1->epoch, 1);
  EXPECT_NE(Bytes(epoch0->send), Bytes(epoch1->send));
  EXPECT_NE(Bytes(epoch0->receive), Bytes(epoch1->receive));
}

TEST(PeerKeys, RefusesToPeerWithOwnKey) {
  Identity a = NewIdentity();
  EXPECT_THAT(DerivePeerKeys(a, a.public_key()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("own key")));
}

TEST(PeerKeys, RefusesSmallOrderPeerKey) {
  Identity a = NewIdentity();
  PublicKey zero{};
  EXPECT_THAT(DerivePeerKeys(a, zero), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("")));
}

}  // namespace
}  // namespace fleetbond::transport
