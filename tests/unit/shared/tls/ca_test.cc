#include "shared/tls/ca.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/testing/status_matchers.h"
#include "shared/tls/caller.h"
#include "shared/tls/secure_files.h"
#include "tests/unit/shared/tls/tls_test_util.h"

namespace fleetbond::tls {
namespace {

using ::fleetbond::testing::IsOk;
using ::fleetbond::testing::StatusIs;
using ::fleetbond::tls::testing::AsTime;
using ::fleetbond::tls::testing::LoadCert;
using ::fleetbond::tls::testing::ModeOf;
using ::fleetbond::tls::testing::ReadText;
using ::fleetbond::tls::testing::TempDir;
using ::fleetbond::tls::testing::VerifyChain;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> UriNames(X509* cert) {
  std::vector<std::string> uris;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      ASN1_STRING_length(uri));
  }
  return uris;
}

std::string Field(X509* cert, int nid) {
  auto value = SubjectField(cert, nid);
  return value.ok() ? *value : "<" + std::string(value.status().message()) + ">";
}

class CaTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(InitCa(ca_dir(), "prod", {}, clock_), IsOk()); }
  std::string ca_dir() const { return dir_.File("ca"); }
  X509Ptr CaCert() const { return LoadCert(dir_.File("ca/ca.crt")); }

  TempDir dir_;
  FakeClock clock_;
};

TEST_F(CaTest, InitCa_WritesCaAndControllerFilesWithPrivateModes) {
  EXPECT_EQ(ModeOf(ca_dir()), 0700u);
  EXPECT_EQ(ModeOf(dir_.File("ca/ca.key")), 0600u);
  EXPECT_EQ(ModeOf(dir_.File("ca/controller.key")), 0600u);
  EXPECT_EQ(ModeOf(dir_.File("ca/ca.crt")), 0644u);
  EXPECT_EQ(ModeOf(dir_.File("ca/controller.crt")), 0644u);
  // Nothing else, such as a left-over temporary file.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(ca_dir())) {
    ++entries;
  }
  EXPECT_EQ(entries, 4);
}

TEST_F(CaTest, InitCa_MakesASelfSignedP256CaValidForTenYears) {
  X509Ptr ca = CaCert();
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(Field(ca.get(), NID_commonName), "fleetbond CA prod");
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_TRUE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN);
  EXPECT_EQ(X509_check_issued(ca.get(), ca.get()), X509_V_OK);
  EXPECT_EQ(VerifyChain(ca.get(), ca.get(), clock_.Now()), X509_V_OK);
  EXPECT_EQ(AsTime(X509_get0_notAfter(ca.get())), clock_.Now() + kCaValidity);
  EXPECT_LE(AsTime(X509_get0_notBefore(ca.get())), clock_.Now());

  EVP_PKEY* key = X509_get0_pubkey(ca.get());
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(key, "EC"));
  char group[64] = {};
  size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key, group, sizeof(group), &len), 1);
  EXPECT_STREQ(group, "prime256v1");
}

TEST_F(CaTest, InitCa_RefusesToReplaceAnExistingCa) {
  std::string key_before = ReadText(dir_.File("ca/ca.key"));
  std::string cert_before = ReadText(dir_.File("ca/ca.crt"));
  EXPECT_THAT(InitCa(ca_dir(), "other", {}, clock_),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("refusing to replace")));
  EXPECT_EQ(ReadText(dir_.File("ca/ca.key")), key_before);
  EXPECT_EQ(ReadText(dir_.File("ca/ca.crt")), cert_before);
}

TEST_F(CaTest, InitCa_ControllerCertificateServesLocalhostAndExtraNames) {
  TempDir other;
  ASSERT_THAT(
      InitCa(other.File("ca"), "lab", {.extra_server_names = {"ctl.example", "10.1.2.3"}}, clock_),
      IsOk());
  X509Ptr ca = LoadCert(other.File("ca/ca.crt"));
  X509Ptr server = LoadCert(other.File("ca/controller.crt"));
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(VerifyChain(ca.get(), server.get(), clock_.Now()), X509_V_OK);
  EXPECT_EQ(X509_check_host(server.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(server.get(), "ctl.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(server.get(), "evil.example", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.get(), "10.1.2.3", 0), 1);
  EXPECT_EQ(X509_check_purpose(server.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_purpose(server.get(), X509_PURPOSE_SSL_CLIENT, 0), 0);
  // A controller certificate is no fleet identity.
  EXPECT_THAT(IdentityOfCertificate(ReadText(other.File("ca/controller.crt"))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no fleet identity")));
}

TEST(InitCaTest, BadInputWritesNothing) {
  TempDir dir;
  FakeClock clock;
  EXPECT_THAT(InitCa(dir.File("ca"), "lab", {.extra_server_names = {"bad name!"}}, clock),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad name!")));
  EXPECT_THAT(InitCa(dir.File("ca"), "", {}, clock),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fleet name")));
  EXPECT_FALSE(FileExists(dir.File("ca")));
}

TEST_F(CaTest, IssueNode_CertificateIsBoundToTheNodeIdForClientAuth) {
  TempDir out;
  auto files = IssueNode(ca_dir(), "0123456789", out.path(), clock_);
  ASSERT_THAT(files, IsOk());
  EXPECT_EQ(files->cert_file, out.File("node-0123456789.crt"));
  EXPECT_EQ(files->key_file, out.File("node-0123456789.key"));
  EXPECT_EQ(ModeOf(files->key_file), 0600u);

  X509Ptr ca = CaCert();
  X509Ptr cert = LoadCert(files->cert_file);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), clock_.Now()), X509_V_OK);
  EXPECT_EQ(Field(cert.get(), NID_commonName), "0123456789");
  EXPECT_EQ(Field(cert.get(), NID_organizationalUnitName), "node");
  EXPECT_THAT(UriNames(cert.get()), ElementsAre("fleetbond://node/0123456789"));
  EXPECT_TRUE(X509_get_extended_key_usage(cert.get()) & XKU_SSL_CLIENT);
  EXPECT_FALSE(X509_get_extended_key_usage(cert.get()) & XKU_SSL_SERVER);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(AsTime(X509_get0_notAfter(cert.get())), clock_.Now() + kLeafValidity);
  EXPECT_EQ(AsTime(X509_get0_notBefore(cert.get())), clock_.Now() - kBackdate);

  // The key on disk is the certificate's.
  auto key = ParsePrivateKeyPem(ReadText(files->key_file), "key");
  ASSERT_THAT(key, IsOk());
  EXPECT_THAT(CheckKeyMatchesCertificate(cert.get(), key->get(), "cert", "key"), IsOk());

  auto caller = IdentityOfCertificate(ReadText(files->cert_file));
  ASSERT_THAT(caller, IsOk());
  EXPECT_EQ(caller->role, Caller::kNode);
  EXPECT_EQ(caller->name, "0123456789");
}

TEST_F(CaTest, IssuedCertificate_ExpiresAfterOneYearAndFailsAgainstAnotherCa) {
  auto files = IssueNode(ca_dir(), "00000000aa", dir_.File("out"), clock_);
  ASSERT_THAT(files, IsOk());
  X509Ptr cert = LoadCert(files->cert_file);
  X509Ptr ca = CaCert();
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), clock_.Now() + kLeafValidity + absl::Hours(1)),
            X509_V_ERR_CERT_HAS_EXPIRED);

  TempDir other;
  ASSERT_THAT(InitCa(other.File("ca"), "other", {}, clock_), IsOk());
  X509Ptr other_ca = LoadCert(other.File("ca/ca.crt"));
  EXPECT_NE(VerifyChain(other_ca.get(), cert.get(), clock_.Now()), X509_V_OK);
}

TEST_F(CaTest, IssueNode_RefusesIdsThatAreNotTenLowercaseHexDigits) {
  for (const char* bad :
       {"", "0123", "0123456789a", "ABCDEF0123", "012345678g", "../../etc/x", "01234 6789"}) {
    EXPECT_THAT(IssueNode(ca_dir(), bad, dir_.File("out"), clock_),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("10 lowercase hex")))
        << bad;
  }
  EXPECT_FALSE(FileExists(dir_.File("out")));
}

TEST_F(CaTest, IssueOperator_CertificateIsBoundToTheOperatorName) {
  auto files = IssueOperator(ca_dir(), "alice@example.org", dir_.File("out"), clock_);
  ASSERT_THAT(files, IsOk());
  EXPECT_EQ(ModeOf(files->key_file), 0600u);
  EXPECT_EQ(ModeOf(dir_.File("out")), 0700u);
  X509Ptr cert = LoadCert(files->cert_file);
  X509Ptr ca = CaCert();
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), clock_.Now()), X509_V_OK);
  EXPECT_EQ(Field(cert.get(), NID_commonName), "alice@example.org");
  EXPECT_EQ(Field(cert.get(), NID_organizationalUnitName), "operator");
  EXPECT_THAT(UriNames(cert.get()), ElementsAre("fleetbond://operator/alice@example.org"));
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 0);

  auto caller = IdentityOfCertificate(ReadText(files->cert_file));
  ASSERT_THAT(caller, IsOk());
  EXPECT_EQ(caller->role, Caller::kOperator);
  EXPECT_EQ(caller->name, "alice@example.org");
}

TEST_F(CaTest, IssueOperator_RefusesNamesThatCouldSmuggleAnotherIdentity) {
  for (const char* bad : {"", "a b", "../x", "bob,OU=node", "x/node/0123456789", "-dash"}) {
    EXPECT_THAT(IssueOperator(ca_dir(), bad, dir_.File("out"), clock_),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("operator name")))
        << bad;
  }
}

TEST_F(CaTest, IssueServer_NamesEveryDnsNameAndAddress) {
  auto files = IssueServer(ca_dir(), {"::1", "ctl.internal"}, dir_.File("out"), clock_);
  ASSERT_THAT(files, IsOk());
  EXPECT_EQ(files->cert_file, dir_.File("out/server---1.crt"));
  X509Ptr cert = LoadCert(files->cert_file);
  X509Ptr ca = CaCert();
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), clock_.Now()), X509_V_OK);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "ctl.internal", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);

  EXPECT_THAT(IssueServer(ca_dir(), {}, dir_.File("out"), clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least one")));
  EXPECT_THAT(IssueServer(ca_dir(), {"a..b"}, dir_.File("out"), clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a..b")));
}

TEST_F(CaTest, IssueReplica_ServesItsNamesAndIdentifiesTheReplicaAsAClient) {
  auto files =
      IssueReplica(ca_dir(), "ctl-b", {"ctl-b.internal", "10.0.0.6"}, dir_.File("out"), clock_);
  ASSERT_THAT(files, IsOk());
  EXPECT_EQ(files->cert_file, dir_.File("out/replica-ctl-b.crt"));
  EXPECT_EQ(ModeOf(files->key_file), 0600u);
  X509Ptr cert = LoadCert(files->cert_file);
  X509Ptr ca = CaCert();
  EXPECT_EQ(VerifyChain(ca.get(), cert.get(), clock_.Now()), X509_V_OK);
  EXPECT_EQ(X509_check_host(cert.get(), "ctl-b.internal", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.0.0.6", 0), 1);
  // Both ends of mutual TLS between replicas.
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  auto caller = IdentityOfCertificate(ReadText(files->cert_file));
  ASSERT_THAT(caller, IsOk());
  EXPECT_EQ(caller->role, Caller::kReplica);
  EXPECT_EQ(caller->name, "ctl-b");
  EXPECT_EQ(caller->Describe(), "controller replica ctl-b");
  EXPECT_THAT(RequireReplica(*caller), IsOk());
  EXPECT_THAT(RequireOperator(*caller), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(RequireNode(*caller, "0123456789"), StatusIs(absl::StatusCode::kPermissionDenied));

  EXPECT_THAT(IssueReplica(ca_dir(), "ctl-b", {}, dir_.File("out"), clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DNS names or IP")));
  EXPECT_THAT(IssueReplica(ca_dir(), "bad/name", {"h"}, dir_.File("out"), clock_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("replica name")));
}

TEST_F(CaTest, SerialNumbersAreRandom128BitValues) {
  auto first = IssueNode(ca_dir(), "0000000001", dir_.File("a"), clock_);
  auto second = IssueNode(ca_dir(), "0000000001", dir_.File("b"), clock_);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  X509Ptr a = LoadCert(first->cert_file);
  X509Ptr b = LoadCert(second->cert_file);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()), X509_get0_serialNumber(b.get())), 0);
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(a.get()), nullptr));
  EXPECT_GT(BN_num_bits(bn.get()), 120);
  EXPECT_LE(BN_num_bits(bn.get()), 128);
  EXPECT_FALSE(BN_is_negative(bn.get()));
}

TEST_F(CaTest, Reissuing_ReplacesTheFilesWithANewKey) {
  auto first = IssueNode(ca_dir(), "0000000001", dir_.File("out"), clock_);
  ASSERT_THAT(first, IsOk());
  std::string old_key = ReadText(first->key_file);
  auto second = IssueNode(ca_dir(), "0000000001", dir_.File("out"), clock_);
  ASSERT_THAT(second, IsOk());
  EXPECT_NE(ReadText(second->key_file), old_key);
  EXPECT_EQ(ModeOf(second->key_file), 0600u);
}

TEST(IssueWithoutCaTest, SaysWhereItLookedAndHowToCreateOne) {
  TempDir dir;
  EXPECT_THAT(IssueNode(dir.File("nowhere"), "0123456789", dir.File("out")),
              StatusIs(absl::StatusCode::kNotFound,
                       ::testing::AllOf(HasSubstr(dir.File("nowhere")), HasSubstr("ca init"))));
}

TEST_F(CaTest, IssueRefusesACaKeyOthersCanRead) {
  ASSERT_EQ(::chmod(dir_.File("ca/ca.key").c_str(), 0644), 0);
  EXPECT_THAT(IssueOperator(ca_dir(), "alice", dir_.File("out"), clock_),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("chmod 600")));
}

TEST_F(CaTest, IssueRefusesACaCertificateThatIsNotTheKeys) {
  TempDir other;
  ASSERT_THAT(InitCa(other.File("ca"), "other", {}, clock_), IsOk());
  std::filesystem::copy_file(other.File("ca/ca.crt"), dir_.File("ca/ca.crt"),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_THAT(IssueOperator(ca_dir(), "alice", dir_.File("out"), clock_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not the private key")));
}

}  // namespace
}  // namespace fleetbond::tls
