#include "shared/identity/identity.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::testing::HasSubstr;

// RFC 7748 section 6.1 test vectors: Alice's and Bob's X25519 keys and their shared secret.
constexpr char kAliceSecretHex[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr char kAlicePublicHex[] =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr char kBobPublicHex[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr char kSharedSecretHex[] =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

template <typename Bytes>
Bytes FromHex(absl::string_view hex) {
  Bytes out;
  for (size_t i = 0; i < out.size(); ++i) {
    out.data()[i] = static_cast<uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
  }
  return out;
}

template <typename Bytes>
std::string ToHex(const Bytes& bytes, size_t n) {
  std::string out;
  char buf[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof(buf), "%02x", bytes.data()[i]);
    out += buf;
  }
  return out;
}

// TempHome is a fresh directory, removed with its contents at the end of the test.
class TempHome {
 public:
  TempHome() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fb-identity-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempHome() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string File(absl::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(Identity, FromSecretKey_MatchesRfc7748PublicKey) {
  auto alice = Identity::FromSecretKey(FromHex<SecretKey>(kAliceSecretHex));
  ASSERT_THAT(alice, IsOk());
  EXPECT_EQ(ToHex(alice->public_key(), kPublicKeySize), kAlicePublicHex);
}

TEST(Identity, ComputeSharedSecret_MatchesRfc7748SharedSecret) {
  auto alice = Identity::FromSecretKey(FromHex<SecretKey>(kAliceSecretHex));
  ASSERT_THAT(alice, IsOk());
  auto shared = alice->ComputeSharedSecret(FromHex<PublicKey>(kBobPublicHex));
  ASSERT_THAT(shared, IsOk());
  EXPECT_EQ(ToHex(*shared, kSharedSecretSize), kSharedSecretHex);
}

TEST(Identity, ComputeSharedSecret_RefusesSmallOrderPeerKey) {
  auto alice = Identity::FromSecretKey(FromHex<SecretKey>(kAliceSecretHex));
  ASSERT_THAT(alice, IsOk());
  PublicKey zero{};  // the identity point: X25519 with it is all zeros for every secret
  EXPECT_THAT(alice->ComputeSharedSecret(zero),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(EncodePublicKey(zero))));
}

TEST(NodeId, IsFirst40BitsOfSha256OfPublicKey) {
  PublicKey key = FromHex<PublicKey>(kAlicePublicHex);
  // Computed here with OpenSSL's SHA-256 directly, independent of NodeId's code.
  unsigned char digest[32];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(key.data(), key.size(), digest, &len, EVP_sha256(), nullptr), 1);
  std::string expected;
  for (int i = 0; i < 5; ++i) {
    char buf[3];
    std::snprintf(buf, sizeof(buf), "%02x", digest[i]);
    expected += buf;
  }
  EXPECT_EQ(NodeId::ForPublicKey(key).ToString(), expected);
  auto alice = Identity::FromSecretKey(FromHex<SecretKey>(kAliceSecretHex));
  ASSERT_THAT(alice, IsOk());
  EXPECT_EQ(alice->id().ToString(), expected);
}

TEST(NodeId, ParseRoundTripsTenHexDigits) {
  auto id = NodeId::Parse("0123456789");
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->value(), 0x0123456789u);
  EXPECT_EQ(id->ToString(), "0123456789");
  auto upper = NodeId::Parse("ABCDEF0123");
  ASSERT_THAT(upper, IsOk());
  EXPECT_EQ(upper->ToString(), "abcdef0123");
}

TEST(NodeId, ParseRejectsWrongLengthAndNonHex) {
  for (absl::string_view bad :
       {"", "012345678", "0123456789a", "012345678g", "0x23456789", " 123456789", "01234-6789"}) {
    EXPECT_THAT(NodeId::Parse(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not 10 hex digits")))
        << bad;
  }
}

TEST(PublicKeyEncoding, RoundTripsThroughBase64) {
  PublicKey key = FromHex<PublicKey>(kAlicePublicHex);
  std::string text = EncodePublicKey(key);
  EXPECT_EQ(text.size(), 44u);
  auto back = DecodePublicKey("  " + text + "\n");
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, key);
}

TEST(PublicKeyEncoding, DecodeRejectsWrongLengthGarbageAndNonCanonicalForms) {
  PublicKey key = FromHex<PublicKey>(kAlicePublicHex);
  std::string text = EncodePublicKey(key);
  EXPECT_THAT(DecodePublicKey(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32")));
  EXPECT_THAT(DecodePublicKey("AAAA"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32")));
  EXPECT_THAT(DecodePublicKey("!!" + text.substr(2)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("base64")));
  // Unpadded: decodes to the same bytes but is a second spelling of the key.
  EXPECT_THAT(DecodePublicKey(text.substr(0, 43)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("canonical")));
}

TEST(VerifyPeerId, AcceptsKeyThatHashesToId) {
  PublicKey key = FromHex<PublicKey>(kAlicePublicHex);
  EXPECT_THAT(VerifyPeerId(NodeId::ForPublicKey(key), key), IsOk());
}

TEST(VerifyPeerId, RefusesKeyThatHashesToAnotherId) {
  PublicKey alice = FromHex<PublicKey>(kAlicePublicHex);
  PublicKey bob = FromHex<PublicKey>(kBobPublicHex);
  NodeId alice_id = NodeId::ForPublicKey(alice);
  EXPECT_THAT(VerifyPeerId(alice_id, bob),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr(NodeId::ForPublicKey(bob).ToString())));
  EXPECT_THAT(VerifyPeerId(NodeId(alice_id.value() ^ 1), alice),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("refusing the peer")));
}

TEST(Identity, GenerateGivesDistinctKeys) {
  auto a = Identity::Generate();
  auto b = Identity::Generate();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(a->public_key(), b->public_key());
  EXPECT_EQ(a->id(), NodeId::ForPublicKey(a->public_key()));
}

TEST(Identity, SaveThenLoadRoundTripsKeyPair) {
  TempHome home;
  auto saved = Identity::Generate();
  ASSERT_THAT(saved, IsOk());
  ASSERT_THAT(saved->Save(home.path()), IsOk());
  auto loaded = Identity::Load(home.path());
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->public_key(), saved->public_key());
  EXPECT_EQ(loaded->id(), saved->id());
  // Same secret: both agree on a shared secret with a third key.
  auto other = Identity::Generate();
  ASSERT_THAT(other, IsOk());
  auto s1 = saved->ComputeSharedSecret(other->public_key());
  auto s2 = loaded->ComputeSharedSecret(other->public_key());
  ASSERT_THAT(s1, IsOk());
  ASSERT_THAT(s2, IsOk());
  EXPECT_EQ(ToHex(*s1, 32), ToHex(*s2, 32));
  EXPECT_EQ(ReadText(home.File(Identity::kPublicFileName)),
            EncodePublicKey(saved->public_key()) + "\n");
}

TEST(Identity, SecretKeyFileIsMode0600EvenUnderPermissiveUmask) {
  TempHome home;
  mode_t old_umask = ::umask(0);
  auto identity = Identity::Generate();
  ASSERT_THAT(identity, IsOk());
  absl::Status saved = identity->Save(home.path());
  ::umask(old_umask);
  ASSERT_THAT(saved, IsOk());
  EXPECT_EQ(ModeOf(home.File(Identity::kSecretFileName)), 0600u);
  EXPECT_EQ(ModeOf(home.File(Identity::kPublicFileName)), 0644u);
  // No temporary file is left behind.
  EXPECT_FALSE(std::filesystem::exists(home.File("identity.secret.tmp")));
}

TEST(Identity, SaveCreatesMissingHomeWithMode0700) {
  TempHome parent;
  std::string home = parent.File("home");
  auto identity = Identity::Generate();
  ASSERT_THAT(identity, IsOk());
  ASSERT_THAT(identity->Save(home), IsOk());
  EXPECT_EQ(ModeOf(home) & 077, 0u);
}

TEST(Identity, SaveRefusesToOverwriteExistingIdentity) {
  TempHome home;
  auto first = Identity::Generate();
  auto second = Identity::Generate();
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  ASSERT_THAT(first->Save(home.path()), IsOk());
  EXPECT_THAT(second->Save(home.path()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(home.File("identity.secret"))));
  auto loaded = Identity::Load(home.path());
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(loaded->public_key(), first->public_key());
}

TEST(Identity, LoadReportsMissingIdentityWithItsPath) {
  TempHome home;
  EXPECT_THAT(Identity::Load(home.path()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(home.File("identity.secret"))));
}

TEST(Identity, LoadRefusesSecretFileReadableByOthers) {
  TempHome home;
  auto identity = Identity::Generate();
  ASSERT_THAT(identity, IsOk());
  ASSERT_THAT(identity->Save(home.path()), IsOk());
  ASSERT_EQ(::chmod(home.File(Identity::kSecretFileName).c_str(), 0640), 0);
  EXPECT_THAT(Identity::Load(home.path()),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("mode 0640")));
}

TEST(Identity, LoadRefusesSymlinkedSecretFile) {
  TempHome home;
  TempHome elsewhere;
  auto identity = Identity::Generate();
  ASSERT_THAT(identity, IsOk());
  ASSERT_THAT(identity->Save(elsewhere.path()), IsOk());
  ASSERT_EQ(::symlink(elsewhere.File(Identity::kSecretFileName).c_str(),
                      home.File(Identity::kSecretFileName).c_str()),
            0);
  EXPECT_THAT(Identity::Load(home.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("symbolic link")));
}

TEST(Identity, LoadRefusesMalformedSecretFile) {
  TempHome home;
  int fd = ::open(home.File(Identity::kSecretFileName).c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "not a key\n", 10), 10);
  ::close(fd);
  EXPECT_THAT(Identity::Load(home.path()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32-byte X25519 key")));
}

TEST(Identity, LoadRefusesPublicKeyFileThatDoesNotMatchSecret) {
  TempHome home;
  auto identity = Identity::Generate();
  auto other = Identity::Generate();
  ASSERT_THAT(identity, IsOk());
  ASSERT_THAT(other, IsOk());
  ASSERT_THAT(identity->Save(home.path()), IsOk());
  WriteText(home.File(Identity::kPublicFileName), EncodePublicKey(other->public_key()) + "\n");
  EXPECT_THAT(Identity::Load(home.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("does not match")));
}

TEST(Identity, LoadOrCreateCreatesOnceThenLoadsTheSameIdentity) {
  TempHome home;
  bool created = false;
  auto first = Identity::LoadOrCreate(home.path(), &created);
  ASSERT_THAT(first, IsOk());
  EXPECT_TRUE(created);
  auto second = Identity::LoadOrCreate(home.path(), &created);
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(created);
  EXPECT_EQ(first->public_key(), second->public_key());
}

}  // namespace
}  // namespace fleetbond
