#include "node/transport/aead.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"

namespace fleetbond::transport {
namespace {

using ::fleetbond::testing::IsOk;

AeadKey RandomKey() {
  AeadKey key;
  EXPECT_EQ(RAND_bytes(key.data(), static_cast<int>(key.size())), 1);
  return key;
}

std::vector<uint8_t> Text(absl::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); }

struct SealedPacket {
  uint64_t counter;
  std::vector<uint8_t> aad;
  std::vector<uint8_t> sealed;
};

SealedPacket SealOne(Sealer& sealer, absl::string_view aad, absl::string_view plaintext) {
  SealedPacket packet;
  packet.aad = Text(aad);
  packet.sealed.resize(plaintext.size() + kAeadTagSize);
  std::optional<uint64_t> counter = sealer.TakeCounter();
  EXPECT_TRUE(counter.has_value());
  packet.counter = *counter;
  std::vector<uint8_t> body = Text(plaintext);
  EXPECT_EQ(sealer.Seal(*counter, packet.aad, {}, body, packet.sealed), AeadError::kOk);
  return packet;
}

TEST(Aead, SealThenOpenRoundTrips) {
  AeadKey key = RandomKey();
  auto sealer = Sealer::Create(key, 0);
  auto opener = Opener::Create(key);
  ASSERT_THAT(sealer, IsOk());
  ASSERT_THAT(opener, IsOk());
  for (absl::string_view text :
       {absl::string_view(""), absl::string_view("x"), absl::string_view("hello, path"),
        absl::string_view("\0\1\2", 3)}) {
    SealedPacket packet = SealOne(*sealer, "header", text);
    std::vector<uint8_t> out(text.size());
    ASSERT_EQ(opener->Open(packet.counter, packet.aad, packet.sealed, out), AeadError::kOk);
    EXPECT_EQ(std::string(out.begin(), out.end()), text);
  }
}

TEST(Aead, MatchesOneShotChaCha20Poly1305WithDocumentedNonce) {
  AeadKey key = RandomKey();
  auto sealer = Sealer::Create(key, 0x0102030405060708);
  ASSERT_THAT(sealer, IsOk());
  SealedPacket packet = SealOne(*sealer, "aad", "plaintext of a packet");

  // Independent encryption: nonce = 00 00 00 00 || counter big-endian.
  const uint8_t nonce[12] = {0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  std::vector<uint8_t> expected(packet.sealed.size());
  int len = 0, total = 0;
  std::vector<uint8_t> pt = Text("plaintext of a packet");
  ASSERT_EQ(EVP_EncryptInit_ex2(ctx, cipher, key.data(), nonce, nullptr), 1);
  ASSERT_EQ(EVP_EncryptUpdate(ctx, nullptr, &len, packet.aad.data(), 3), 1);
  ASSERT_EQ(EVP_EncryptUpdate(ctx, expected.data(), &len, pt.data(), static_cast<int>(pt.size())),
            1);
  total = len;
  ASSERT_EQ(EVP_EncryptFinal_ex(ctx, expected.data() + total, &len), 1);
  total += len;
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, expected.data() + total), 1);
  EVP_CIPHER_free(cipher);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(packet.counter, 0x0102030405060708u);
  EXPECT_EQ(packet.sealed, expected);
}

TEST(Aead, OpenRejectsAnySingleBitFlipInAadCiphertextOrTag) {
  AeadKey key = RandomKey();
  auto sealer = Sealer::Create(key, 7);
  auto opener = Opener::Create(key);
  ASSERT_THAT(sealer, IsOk());
  ASSERT_THAT(opener, IsOk());
  SealedPacket packet = SealOne(*sealer, "authenticated header", "secret inner packet");
  std::vector<uint8_t> out(packet.sealed.size());
  for (size_t bit = 0; bit < packet.aad.size() * 8; ++bit) {
    std::vector<uint8_t> aad = packet.aad;
    aad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_EQ(opener->Open(packet.counter, aad, packet.sealed, out),
              AeadError::kAuthenticationFailed)
        << "aad bit " << bit;
  }
  for (size_t bit = 0; bit < packet.sealed.size() * 8; ++bit) {
    std::vector<uint8_t> sealed = packet.sealed;
    sealed[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_EQ(opener->Open(packet.counter, packet.aad, sealed, out),
              AeadError::kAuthenticationFailed)
        << "sealed bit " << bit;
  }
  EXPECT_EQ(opener->Open(packet.counter, packet.aad, packet.sealed, out), AeadError::kOk);
}

TEST(Aead, OpenRejectsWrongKeyAndWrongCounter) {
  AeadKey key = RandomKey();
  auto sealer = Sealer::Create(key, 100);
  auto wrong = Opener::Create(RandomKey());
  auto right = Opener::Create(key);
  ASSERT_THAT(sealer, IsOk());
  ASSERT_THAT(wrong, IsOk());
  ASSERT_THAT(right, IsOk());
  SealedPacket packet = SealOne(*sealer, "h", "payload");
  std::vector<uint8_t> out(packet.sealed.size());
  EXPECT_EQ(wrong->Open(packet.counter, packet.aad, packet.sealed, out),
            AeadError::kAuthenticationFailed);
  EXPECT_EQ(right->Open(packet.counter + 1, packet.aad, packet.sealed, out),
            AeadError::kAuthenticationFailed);
  EXPECT_EQ(right->Open(packet.counter, packet.aad, packet.sealed, out), AeadError::kOk);
}

TEST(Aead, CountersStrictlyIncreaseFromFirstCounter) {
  auto sealer = Sealer::Create(RandomKey(), 41);
  ASSERT_THAT(sealer, IsOk());
  EXPECT_EQ(sealer->next_counter(), 41u);
  EXPECT_EQ(sealer->TakeCounter(), 41u);
  EXPECT_EQ(sealer->TakeCounter(), 42u);
  EXPECT_EQ(sealer->next_counter(), 43u);
}

TEST(Aead, SealRefusesCounterThatWasNotReservedOrWasAlreadyUsed) {
  auto sealer = Sealer::Create(RandomKey(), 0);
  ASSERT_THAT(sealer, IsOk());
  std::vector<uint8_t> body = Text("data"), out(body.size() + kAeadTagSize);
  EXPECT_EQ(sealer->Seal(0, {}, {}, body, out), AeadError::kCounterNotReserved);
  std::optional<uint64_t> counter = sealer->TakeCounter();
  ASSERT_TRUE(counter.has_value());
  EXPECT_EQ(sealer->Seal(*counter + 1, {}, {}, body, out), AeadError::kCounterNotReserved);
  counter = sealer->TakeCounter();
  EXPECT_EQ(sealer->Seal(*counter, {}, {}, body, out), AeadError::kOk);
  EXPECT_EQ(sealer->Seal(*counter, {}, {}, body, out), AeadError::kCounterNotReserved);
}

TEST(Aead, SealerRefusesToSealWhenCounterWouldWrap) {
  auto sealer = Sealer::Create(RandomKey(), Sealer::kLastCounter - 2);
  ASSERT_THAT(sealer, IsOk());
  EXPECT_EQ(sealer->TakeCounter(), Sealer::kLastCounter - 2);
  EXPECT_EQ(sealer->TakeCounter(), Sealer::kLastCounter - 1);
  EXPECT_EQ(sealer->TakeCounter(), std::nullopt);
  EXPECT_EQ(sealer->TakeCounter(), std::nullopt);
  std::vector<uint8_t> body = Text("data"), out(body.size() + kAeadTagSize);
  EXPECT_EQ(sealer->Seal(Sealer::kLastCounter, {}, {}, body, out), AeadError::kCounterNotReserved);
  EXPECT_EQ(sealer->Seal(0, {}, {}, body, out), AeadError::kCounterNotReserved);
}

TEST(Aead, SealRefusesShortOutputBuffer) {
  auto sealer = Sealer::Create(RandomKey(), 0);
  ASSERT_THAT(sealer, IsOk());
  std::vector<uint8_t> body = Text("data"), out(body.size() + kAeadTagSize - 1);
  EXPECT_EQ(sealer->Seal(*sealer->TakeCounter(), {}, {}, body, out), AeadError::kBufferTooSmall);
}

TEST(Aead, OpenRefusesInputShorterThanTag) {
  auto opener = Opener::Create(RandomKey());
  ASSERT_THAT(opener, IsOk());
  std::vector<uint8_t> out(64);
  for (size_t n = 0; n < kAeadTagSize; ++n) {
    std::vector<uint8_t> sealed(n);
    EXPECT_EQ(opener->Open(0, {}, sealed, out), AeadError::kBufferTooSmall) << n;
  }
  std::vector<uint8_t> tag_only(kAeadTagSize);
  EXPECT_EQ(opener->Open(0, {}, tag_only, out), AeadError::kAuthenticationFailed);
}

TEST(Aead, SealsAndOpensInPlace) {
  AeadKey key = RandomKey();
  auto sealer = Sealer::Create(key, 0);
  auto opener = Opener::Create(key);
  ASSERT_THAT(sealer, IsOk());
  ASSERT_THAT(opener, IsOk());
  const std::string text = "in place body";
  // Layout: head (4 bytes) then body, sealed where they already are.
  std::vector<uint8_t> head = Text("HEAD");
  std::vector<uint8_t> buf(head.size() + text.size() + kAeadTagSize);
  std::copy(text.begin(), text.end(), buf.begin() + head.size());
  uint64_t counter = *sealer->TakeCounter();
  ASSERT_EQ(sealer->Seal(counter, {}, head, ConstBytes(buf).subspan(head.size(), text.size()), buf),
            AeadError::kOk);
  ASSERT_EQ(opener->Open(counter, {}, buf, buf), AeadError::kOk);
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + 4), "HEAD");
  EXPECT_EQ(std::string(buf.begin() + 4, buf.begin() + 4 + text.size()), text);
}

TEST(Aead, SealRefusesOverlappingBuffersOtherThanExactlyInPlace) {
  auto sealer = Sealer::Create(RandomKey(), 0);
  ASSERT_THAT(sealer, IsOk());
  std::vector<uint8_t> buf(64);
  // Body one byte after where its ciphertext would go: the cipher would overwrite unread input.
  EXPECT_EQ(sealer->Seal(*sealer->TakeCounter(), {}, {}, ConstBytes(buf).subspan(1, 20), buf),
            AeadError::kBufferTooSmall);
}

}  // namespace
}  // namespace fleetbond::transport
