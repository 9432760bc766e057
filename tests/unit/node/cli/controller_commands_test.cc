// fleetbond-cli --controller, run in-process against a fake Fleet service on 127.0.0.1:0: what it
// prints for canned answers, what it asks the controller, and how it refuses.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "fleetbond/v1/controller.grpc.pb.h"
#include "fleetbond/v1/replica.grpc.pb.h"
#include "gmock/gmock.h"
#include "nlohmann/json.hpp"
#include "node/cli/bond_view.h"
#include "node/cli/commands.h"
#include "shared/proto/proto_json.h"

namespace fleetbond::cli {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// FakeFleet answers every call with its canned response (or the status it was told to refuse that
// method with) and keeps the last request of each method.
class FakeFleet final : public v1::Fleet::Service {
 public:
  v1::FleetSettings settings;
  v1::ValidateSettingsResponse validation;
  v1::ListNodesResponse nodes;
  v1::NodeStatus node;
  v1::ListBondsResponse bonds;
  v1::Bond bond;
  v1::RotateBondResponse rotation;
  std::vector<v1::FleetEvent> events;
  bool hold_stream_open = true;  // after the events: wait for the client to go

  void Refuse(const std::string& method, grpc::Status status) {
    absl::MutexLock lock(&mu_);
    refusals_[method] = std::move(status);
  }
  bool Called(const std::string& method) {
    absl::MutexLock lock(&mu_);
    return requests_.contains(method);
  }
  template <typename T>
  T Last(const std::string& method) {
    absl::MutexLock lock(&mu_);
    T request;
    auto it = requests_.find(method);
    if (it != requests_.end()) request.ParseFromString(it->second);
    return request;
  }

  grpc::Status GetSettings(grpc::ServerContext*, const v1::GetFleetSettingsRequest* r,
                           v1::FleetSettings* out) override {
    return Answer("GetSettings", *r, settings, out);
  }
  grpc::Status ReplaceSettings(grpc::ServerContext*, const v1::ReplaceSettingsRequest* r,
                               v1::FleetSettings* out) override {
    return Answer("ReplaceSettings", *r, settings, out);
  }
  grpc::Status ValidateSettings(grpc::ServerContext*, const v1::ValidateSettingsRequest* r,
                                v1::ValidateSettingsResponse* out) override {
    return Answer("ValidateSettings", *r, validation, out);
  }
  grpc::Status PutPolicy(grpc::ServerContext*, const v1::PutPolicyRequest* r,
                         v1::FleetSettings* out) override {
    return Answer("PutPolicy", *r, settings, out);
  }
  grpc::Status DeletePolicy(grpc::ServerContext*, const v1::DeletePolicyRequest* r,
                            v1::FleetSettings* out) override {
    return Answer("DeletePolicy", *r, settings, out);
  }
  grpc::Status SetDefaultPolicy(grpc::ServerContext*, const v1::SetDefaultPolicyRequest* r,
                                v1::FleetSettings* out) override {
    return Answer("SetDefaultPolicy", *r, settings, out);
  }
  grpc::Status SetPeerBond(grpc::ServerContext*, const v1::SetPeerBondRequest* r,
                           v1::FleetSettings* out) override {
    return Answer("SetPeerBond", *r, settings, out);
  }
  grpc::Status DeletePeerBond(grpc::ServerContext*, const v1::DeletePeerBondRequest* r,
                              v1::FleetSettings* out) override {
    return Answer("DeletePeerBond", *r, settings, out);
  }
  grpc::Status ListNodes(grpc::ServerContext*, const v1::ListNodesRequest* r,
                         v1::ListNodesResponse* out) override {
    return Answer("ListNodes", *r, nodes, out);
  }
  grpc::Status GetNode(grpc::ServerContext*, const v1::GetNodeRequest* r,
                       v1::NodeStatus* out) override {
    return Answer("GetNode", *r, node, out);
  }
  grpc::Status ListNodeBonds(grpc::ServerContext*, const v1::NodeBondRequest* r,
                             v1::ListBondsResponse* out) override {
    return Answer("ListNodeBonds", *r, bonds, out);
  }
  grpc::Status GetNodeBond(grpc::ServerContext*, const v1::NodeBondRequest* r,
                           v1::Bond* out) override {
    return Answer("GetNodeBond", *r, bond, out);
  }
  grpc::Status RotateNodeBond(grpc::ServerContext*, const v1::NodeBondRequest* r,
                              v1::RotateBondResponse* out) override {
    return Answer("RotateNodeBond", *r, rotation, out);
  }
  grpc::Status WatchEvents(grpc::ServerContext* context, const v1::WatchEventsRequest* r,
                           grpc::ServerWriter<v1::FleetEvent>* writer) override {
    v1::WatchEventsRequest unused;
    if (grpc::Status s = Answer("WatchEvents", *r, unused, &unused); !s.ok()) return s;
    for (const v1::FleetEvent& e : events) writer->Write(e);
    // The sync API has no cancellation callback: poll until the client cancels or its deadline.
    while (hold_stream_open && !context->IsCancelled()) absl::SleepFor(absl::Milliseconds(2));
    return grpc::Status::OK;
  }

 private:
  template <typename Request, typename Response>
  grpc::Status Answer(const std::string& method, const Request& request, const Response& canned,
                      Response* out) {
    absl::MutexLock lock(&mu_);
    requests_[method] = request.SerializeAsString();
    if (auto it = refusals_.find(method); it != refusals_.end()) return it->second;
    *out = canned;
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  std::map<std::string, std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, grpc::Status> refusals_ ABSL_GUARDED_BY(mu_);
};

// FakeReplica answers Drain (the operator's call of the Replica service) with `drained`, or the
// status it was told to refuse with, and keeps the last request.
class FakeReplica final : public v1::Replica::Service {
 public:
  v1::DrainResponse drained;
  grpc::Status refusal = grpc::Status::OK;

  std::optional<v1::DrainRequest> last() {
    absl::MutexLock lock(&mu_);
    return last_;
  }
  grpc::Status Drain(grpc::ServerContext*, const v1::DrainRequest* r,
                     v1::DrainResponse* out) override {
    absl::MutexLock lock(&mu_);
    last_ = *r;
    if (!refusal.ok()) return refusal;
    *out = drained;
    return grpc::Status::OK;
  }

 private:
  absl::Mutex mu_;
  std::optional<v1::DrainRequest> last_ ABSL_GUARDED_BY(mu_);
};

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

class ControllerCli : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("FLEETBOND_CONTROLLER");
    unsetenv("FLEETBOND_API");
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&fleet_);
    builder.RegisterService(&replica_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    for (const std::string& f : files_) std::remove(f.c_str());
  }

  // Cli runs fleetbond-cli with `args` and nothing else.
  CliRun Cli(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    std::istringstream in(stdin_text);
    std::ostringstream out, err;
    const int code = RunCli(args, {.in = in, .out = out, .err = err, .clock = clock_});
    return {code, out.str(), err.str()};
  }
  // Controller runs it against the fake controller, in plaintext; the --insecure warning, which
  // comes first whenever a connection is made, is dropped from stderr.
  CliRun Controller(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"--controller", address_, "--insecure"});
    CliRun r = Cli(args, stdin_text);
    if (absl::StartsWith(r.err, kInsecureWarning)) r.err.erase(0, r.err.find('\n') + 1);
    return r;
  }

  static constexpr char kInsecureWarning[] = "fleetbond: --insecure: ";

  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/controller_cli_" + name;
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }

  static v1::SettingsIssue Issue(v1::SettingsIssue::Severity severity, const std::string& path,
                                 const std::string& message) {
    v1::SettingsIssue i;
    i.set_severity(severity);
    i.set_path(path);
    i.set_message(message);
    return i;
  }

  FakeClock clock_{absl::FromUnixSeconds(1'700'000'000)};
  FakeFleet fleet_;
  FakeReplica replica_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::vector<std::string> files_;
};

constexpr char kDocument[] = R"({"settings": {"defaultBondingPolicy": "ab"}})";

// --- settings -------------------------------------------------------------------------------

TEST_F(ControllerCli, SettingsShowWithoutScopePrintsTheVersionAndEveryDocument) {
  fleet_.settings.set_version(7);
  fleet_.settings.set_local_conf_json("{\n  \"settings\": {}\n}\n");
  v1::ScopedSettings* edge = fleet_.settings.add_scopes();
  edge->set_scope("role=edge");
  edge->set_local_conf_json(kDocument);

  CliRun r = Controller({"settings", "show"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "settings version 7\n\nfleet-wide:\n{\n  \"settings\": {}\n}\n\nscope role=edge:\n" +
                std::string(kDocument) + "\n");
  EXPECT_EQ(fleet_.Last<v1::GetFleetSettingsRequest>("GetSettings").scope(), "");
}

TEST_F(ControllerCli, SettingsShowOfAScopeAsksForItAndPrintsItsDocument) {
  fleet_.settings.set_version(7);
  fleet_.settings.set_local_conf_json(kDocument);
  CliRun r = Controller({"settings", "show", "--scope", "site=berlin"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "settings version 7\n\nscope site=berlin:\n" + std::string(kDocument) + "\n");
  EXPECT_EQ(fleet_.Last<v1::GetFleetSettingsRequest>("GetSettings").scope(), "site=berlin");
}

TEST_F(ControllerCli, SettingsShowJsonIsTheFleetSettingsMessage) {
  fleet_.settings.set_version(7);
  fleet_.settings.mutable_settings()->set_default_bonding_policy("ab");
  fleet_.settings.add_scopes()->set_scope("role=edge");
  CliRun r = Controller({"-j", "settings", "show"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j, ProtoToJson(fleet_.settings));
  EXPECT_EQ(j["version"], 7);
  EXPECT_EQ(j["settings"]["defaultBondingPolicy"], "ab");
  EXPECT_EQ(j["scopes"][0]["scope"], "role=edge");
}

TEST_F(ControllerCli, SettingsApplySendsTheFileScopeAndVersionAndPrintsTheNewVersionAndWarnings) {
  fleet_.validation.set_valid(true);
  *fleet_.validation.add_issues() =
      Issue(v1::SettingsIssue::SEVERITY_WARNING, "settings.policies.spare",
            "policy \"spare\" is not used");
  fleet_.settings.set_version(8);
  const std::string file = WriteFile("apply.conf", kDocument);

  CliRun r =
      Controller({"settings", "apply", file, "--scope", "role=edge", "--expect-version", "7"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "settings version 8\n"
            "warning: settings.policies.spare: policy \"spare\" is not used\n");
  const auto replace = fleet_.Last<v1::ReplaceSettingsRequest>("ReplaceSettings");
  EXPECT_EQ(replace.local_conf_json(), kDocument);
  EXPECT_EQ(replace.scope(), "role=edge");
  EXPECT_EQ(replace.expected_version(), 7u);
  const auto validate = fleet_.Last<v1::ValidateSettingsRequest>("ValidateSettings");
  EXPECT_EQ(validate.local_conf_json(), kDocument);
  EXPECT_EQ(validate.scope(), "role=edge");
}

TEST_F(ControllerCli, SettingsApplyWithoutExpectVersionSendsZero) {
  fleet_.validation.set_valid(true);
  const std::string file = WriteFile("apply0.conf", kDocument);
  ASSERT_EQ(Controller({"settings", "apply", file}).code, kExitOk);
  const auto replace = fleet_.Last<v1::ReplaceSettingsRequest>("ReplaceSettings");
  EXPECT_EQ(replace.expected_version(), 0u);
  EXPECT_EQ(replace.scope(), "");
}

TEST_F(ControllerCli, SettingsApplyJsonHasTheVersionAndWarnings) {
  fleet_.validation.set_valid(true);
  *fleet_.validation.add_issues() =
      Issue(v1::SettingsIssue::SEVERITY_WARNING, "", "overlay is ignored");
  fleet_.settings.set_version(8);
  const std::string file = WriteFile("applyj.conf", kDocument);
  CliRun r = Controller({"-j", "settings", "apply", file});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["version"], 8);
  ASSERT_EQ(j["warnings"].size(), 1u);
  EXPECT_EQ(j["warnings"][0]["message"], "overlay is ignored");
  EXPECT_EQ(j["warnings"][0]["severity"], "SEVERITY_WARNING");
}

TEST_F(ControllerCli, SettingsApplyOfInvalidSettingsListsEveryErrorAndStoresNothing) {
  fleet_.validation.set_valid(false);
  *fleet_.validation.add_issues() =
      Issue(v1::SettingsIssue::SEVERITY_ERROR, "settings.policies.x.basePolicy",
            "unknown base policy \"fast\"");
  *fleet_.validation.add_issues() =
      Issue(v1::SettingsIssue::SEVERITY_ERROR, "settings.defaultBondingPolicy", "no policy \"y\"");
  const std::string file = WriteFile("invalid.conf", kDocument);

  CliRun r = Controller({"settings", "apply", file});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.err,
            "fleetbond-cli: settings not applied: 2 errors\n"
            "error: settings.policies.x.basePolicy: unknown base policy \"fast\"\n"
            "error: settings.defaultBondingPolicy: no policy \"y\"\n");
  EXPECT_FALSE(fleet_.Called("ReplaceSettings"));

  r = Controller({"-j", "settings", "apply", file});
  EXPECT_EQ(r.code, kExitRefused);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(j["error"]["issues"].size(), 2u);
}

TEST_F(ControllerCli, SettingsRefusedByTheControllerPutsEachErrorOnItsOwnLine) {
  fleet_.validation.set_valid(true);
  fleet_.Refuse("ReplaceSettings",
                grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                             "scopes[role=edge].settings.policies.a.upDelay: must be >= 0; not "
                             "negative; settings.peerSpecificBonds.0123456789: no policy \"z\""));
  const std::string file = WriteFile("raced.conf", kDocument);
  CliRun r = Controller({"settings", "apply", file});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.err,
            "fleetbond-cli: scopes[role=edge].settings.policies.a.upDelay: must be >= 0; not "
            "negative\nsettings.peerSpecificBonds.0123456789: no policy \"z\"\n");
}

TEST_F(ControllerCli, SettingsApplyAgainstANewerVersionPrintsTheConflict) {
  fleet_.validation.set_valid(true);
  fleet_.Refuse("ReplaceSettings",
                grpc::Status(grpc::StatusCode::ABORTED, "settings are at version 9, not 7"));
  const std::string file = WriteFile("conflict.conf", kDocument);
  CliRun r = Controller({"settings", "apply", file, "--expect-version", "7"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_THAT(r.err, StartsWith("fleetbond-cli: not changed: settings are at version 9, not 7 - "
                                "another change came first"));
  EXPECT_THAT(r.err, HasSubstr("--expect-version"));

  r = Controller({"-j", "settings", "apply", file, "--expect-version", "7"});
  EXPECT_EQ(nlohmann::json::parse(r.out)["error"]["code"], "ABORTED");
}

TEST_F(ControllerCli, SettingsApplyOfAnUnreadableFileIsAUsageError) {
  CliRun r = Controller({"settings", "apply", "/nonexistent/fleet.conf"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("cannot read /nonexistent/fleet.conf"));
  EXPECT_FALSE(fleet_.Called("ValidateSettings"));
}

TEST_F(ControllerCli, SettingsCheckExitsZeroWhenValidAndOneWithEveryIssueWhenNot) {
  const std::string file = WriteFile("check.conf", kDocument);
  fleet_.validation.set_valid(true);
  CliRun r = Controller({"settings", "check", file, "--scope", "site=berlin"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "settings valid\n");
  const auto request = fleet_.Last<v1::ValidateSettingsRequest>("ValidateSettings");
  EXPECT_EQ(request.scope(), "site=berlin");
  EXPECT_EQ(request.local_conf_json(), kDocument);

  fleet_.validation.set_valid(false);
  *fleet_.validation.add_issues() =
      Issue(v1::SettingsIssue::SEVERITY_ERROR, "settings.policies.x", "bad");
  r = Controller({"settings", "check", file});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.out, "settings invalid: 1 error\nerror: settings.policies.x: bad\n");

  r = Controller({"-j", "settings", "check", file});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(nlohmann::json::parse(r.out), ProtoToJson(fleet_.validation));
  EXPECT_FALSE(fleet_.Called("ReplaceSettings"));
}

// --- policy and peer-bond changes ---------------------------------------------------------------

TEST_F(ControllerCli, PolicyPutSendsTheFileWithScopeAndVersion) {
  fleet_.settings.set_version(12);
  const std::string policy = R"({"basePolicy": "active-backup", "failoverInterval": 200})";
  const std::string file = WriteFile("policy.json", policy);
  CliRun r = Controller(
      {"policy", "put", "fast-ab", file, "--scope", "role=edge", "--expect-version", "11"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "settings version 12\n");
  const auto put = fleet_.Last<v1::PutPolicyRequest>("PutPolicy");
  EXPECT_EQ(put.name(), "fast-ab");
  EXPECT_EQ(put.policy_json(), policy);
  EXPECT_EQ(put.scope(), "role=edge");
  EXPECT_EQ(put.expected_version(), 11u);
}

TEST_F(ControllerCli, PolicyPutReadsStdinForADash) {
  const std::string policy = R"({"basePolicy": "balance-xor"})";
  CliRun r = Controller({"policy", "put", "xor", "-"}, policy);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fleet_.Last<v1::PutPolicyRequest>("PutPolicy").policy_json(), policy);
  EXPECT_EQ(fleet_.Last<v1::PutPolicyRequest>("PutPolicy").scope(), "");
}

TEST_F(ControllerCli, PolicyDeleteAndDefaultSendTheirNames) {
  fleet_.settings.set_version(13);
  CliRun r = Controller({"policy", "delete", "old", "--expect-version", "12"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "settings version 13\n");
  EXPECT_EQ(fleet_.Last<v1::DeletePolicyRequest>("DeletePolicy").name(), "old");
  EXPECT_EQ(fleet_.Last<v1::DeletePolicyRequest>("DeletePolicy").expected_version(), 12u);

  r = Controller({"policy", "default", "fast-ab", "--scope", "site=berlin"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  const auto set = fleet_.Last<v1::SetDefaultPolicyRequest>("SetDefaultPolicy");
  EXPECT_EQ(set.name(), "fast-ab");
  EXPECT_EQ(set.scope(), "site=berlin");

  r = Controller({"-j", "policy", "default", ""});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fleet_.Last<v1::SetDefaultPolicyRequest>("SetDefaultPolicy").name(), "");
  EXPECT_EQ(nlohmann::json::parse(r.out)["version"], 13);
}

TEST_F(ControllerCli, PeerBondSetAndDeleteSendPeerPolicyScopeAndVersion) {
  fleet_.settings.set_version(14);
  CliRun r = Controller(
      {"peer-bond", "set", "2f33b459c1", "xor", "--scope=role=edge", "--expect-version=13"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "settings version 14\n");
  const auto set = fleet_.Last<v1::SetPeerBondRequest>("SetPeerBond");
  EXPECT_EQ(set.peer(), "2f33b459c1");
  EXPECT_EQ(set.policy(), "xor");
  EXPECT_EQ(set.scope(), "role=edge");
  EXPECT_EQ(set.expected_version(), 13u);

  r = Controller({"peer-bond", "delete", "2f33b459c1"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fleet_.Last<v1::DeletePeerBondRequest>("DeletePeerBond").peer(), "2f33b459c1");
}

TEST_F(ControllerCli, AChangeRefusedAsInvalidListsEachError) {
  fleet_.Refuse("PutPolicy",
                grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                             "settings.policies.p.basePolicy: unknown base policy \"x\"; "
                             "settings.policies.p.upDelay: must be a number"));
  CliRun r = Controller({"policy", "put", "p", "-"}, "{}");
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.err,
            "fleetbond-cli: settings.policies.p.basePolicy: unknown base policy \"x\"\n"
            "settings.policies.p.upDelay: must be a number\n");
}

// --- nodes ----------------------------------------------------------------------------------

v1::NodeStatus Node(const std::string& id, bool connected) {
  v1::NodeStatus n;
  n.set_id(id);
  n.set_connected(connected);
  (*n.mutable_labels())["site"] = "berlin";
  n.set_overlay_address("10.147.0.2");
  n.set_software_version("0.1.0");
  n.set_acked_version(7);
  n.set_desired_version(7);
  n.set_last_seen_unix_ms(1'700'000'000'000 - 65'000);
  return n;
}

TEST_F(ControllerCli, NodesPrintsATableAndSendsTheSelector) {
  *fleet_.nodes.add_nodes() = Node("10a0b0c0d0", true);
  v1::NodeStatus off = Node("2f33b459c1", false);
  off.set_last_nack_error("bad");
  *fleet_.nodes.add_nodes() = off;
  CliRun r = Controller({"nodes", "--selector", "site=berlin"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "<node>      <connected>  <overlay>   <version>  <acked/desired>  <last seen>  "
            "<labels>     <last nack>\n" +
                std::string(102, '-') +
                "\n"
                "10a0b0c0d0  yes          10.147.0.2  0.1.0                  7/7  1m 5s ago    "
                "site=berlin  -\n"
                "2f33b459c1  no           10.147.0.2  0.1.0                  7/7  1m 5s ago    "
                "site=berlin  bad\n");
  EXPECT_EQ(fleet_.Last<v1::ListNodesRequest>("ListNodes").label_selector(), "site=berlin");

  r = Controller({"-j", "nodes"});
  EXPECT_EQ(nlohmann::json::parse(r.out), ProtoToJson(fleet_.nodes));
  EXPECT_EQ(fleet_.Last<v1::ListNodesRequest>("ListNodes").label_selector(), "");
}

TEST_F(ControllerCli, NodePrintsOneNodeOrTheControllersNotFound) {
  fleet_.node = Node("10a0b0c0d0", true);
  CliRun r = Controller({"node", "10a0b0c0d0"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, StartsWith("Node             : 10a0b0c0d0\n"));
  EXPECT_THAT(r.out, HasSubstr("Last Seen        : 2023-11-14T22:12:15Z (1m 5s ago)\n"));
  EXPECT_EQ(fleet_.Last<v1::GetNodeRequest>("GetNode").id(), "10a0b0c0d0");

  r = Controller({"-j", "node", "10a0b0c0d0"});
  EXPECT_EQ(nlohmann::json::parse(r.out), ProtoToJson(fleet_.node));

  fleet_.Refuse("GetNode",
                grpc::Status(grpc::StatusCode::NOT_FOUND, "no node \"0000000001\" in the fleet"));
  r = Controller({"node", "0000000001"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.err, "fleetbond-cli: no node \"0000000001\" in the fleet\n");
}

// --- bonds of a node ------------------------------------------------------------------------

TEST_F(ControllerCli, BondCommandsPrintExactlyWhatTheNodesCliPrints) {
  v1::BondSummary* s = fleet_.bonds.add_bonds();
  s->set_peer("77dcbe7120");
  s->set_policy_name("fast-ab");
  s->set_base_policy(v1::BASE_POLICY_ACTIVE_BACKUP);
  s->set_usable_links(2);
  s->set_total_links(3);
  *fleet_.bond.mutable_summary() = *s;
  fleet_.bond.set_failovers(3);
  fleet_.rotation.set_from("eth0/10.201.0.2/9800");
  fleet_.rotation.set_to("eth1/10.201.1.2/9800");

  CliRun r = Controller({"--node", "10a0b0c0d0", "bond", "list"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, RenderBondList(fleet_.bonds));
  EXPECT_EQ(fleet_.Last<v1::NodeBondRequest>("ListNodeBonds").node_id(), "10a0b0c0d0");

  r = Controller({"--node", "10a0b0c0d0", "bond", "77dcbe7120", "show"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, RenderBondShow(fleet_.bond));
  EXPECT_EQ(fleet_.Last<v1::NodeBondRequest>("GetNodeBond").peer(), "77dcbe7120");
  EXPECT_EQ(fleet_.Last<v1::NodeBondRequest>("GetNodeBond").node_id(), "10a0b0c0d0");

  r = Controller({"bond", "77dcbe7120", "rotate", "--node", "10a0b0c0d0"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "active link rotated from eth0/10.201.0.2/9800 to eth1/10.201.1.2/9800\n");
  EXPECT_EQ(fleet_.Last<v1::NodeBondRequest>("RotateNodeBond").peer(), "77dcbe7120");

  r = Controller({"-j", "--node", "10a0b0c0d0", "bond", "77dcbe7120", "show"});
  EXPECT_EQ(nlohmann::json::parse(r.out), ProtoToJson(fleet_.bond));
  r = Controller({"-j", "--node", "10a0b0c0d0", "bond", "list"});
  EXPECT_EQ(nlohmann::json::parse(r.out), ProtoToJson(fleet_.bonds));
}

TEST_F(ControllerCli, RotateOnAnOfflineNodeShowsTheControllersReason) {
  fleet_.Refuse("RotateNodeBond",
                grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "node 10a0b0c0d0 is not connected (last seen 5m ago)"));
  CliRun r = Controller({"--node", "10a0b0c0d0", "bond", "77dcbe7120", "rotate"});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_EQ(r.err, "fleetbond-cli: fleetbond-controller at " + address_ +
                       ": node 10a0b0c0d0 is not connected (last seen 5m ago)\n");
}

TEST_F(ControllerCli, RotateRefusedByTheNodeKeepsItsSentence) {
  fleet_.Refuse("RotateNodeBond",
                grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                             "cannot rotate: no other link of the bond is usable"));
  CliRun r = Controller({"--node", "10a0b0c0d0", "bond", "77dcbe7120", "rotate"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.err, "fleetbond-cli: cannot rotate: no other link of the bond is usable\n");
}

// --- events ---------------------------------------------------------------------------------

v1::FleetEvent Event(int64_t ms, const std::string& node, v1::FleetEvent::Kind kind,
                     const std::string& detail) {
  v1::FleetEvent e;
  e.set_unix_time_ms(ms);
  e.set_node_id(node);
  e.set_kind(kind);
  e.set_detail(detail);
  return e;
}

TEST_F(ControllerCli, EventsStopAfterCountAndPrintOneLineEach) {
  fleet_.events = {Event(1'700'000'000'000, "10a0b0c0d0", v1::FleetEvent::KIND_CONNECTED, ""),
                   Event(1'700'000'001'500, "10a0b0c0d0", v1::FleetEvent::KIND_NACKED, "bad"),
                   Event(1'700'000'002'000, "10a0b0c0d0", v1::FleetEvent::KIND_DISCONNECTED, "")};
  fleet_.events[1].set_version(8);
  CliRun r = Controller({"events", "--node", "10a0b0c0d0", "--count", "2"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out,
            "2023-11-14T22:13:20.000Z  10a0b0c0d0  connected\n"
            "2023-11-14T22:13:21.500Z  10a0b0c0d0  nacked            version 8: bad\n");
  EXPECT_EQ(fleet_.Last<v1::WatchEventsRequest>("WatchEvents").node_id(), "10a0b0c0d0");
}

TEST_F(ControllerCli, EventsJsonIsOneObjectPerLine) {
  fleet_.events = {Event(1'700'000'000'000, "a", v1::FleetEvent::KIND_ACKED, ""),
                   Event(1'700'000'000'001, "b", v1::FleetEvent::KIND_FAILOVER, "eth0 -> eth1")};
  CliRun r = Controller({"-j", "events", "--count", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<nlohmann::json> objects;
  while (std::getline(lines, line)) objects.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0], ProtoToJson(fleet_.events[0]));
  EXPECT_EQ(objects[1]["kind"], "KIND_FAILOVER");
  EXPECT_EQ(objects[1]["detail"], "eth0 -> eth1");
  EXPECT_EQ(fleet_.Last<v1::WatchEventsRequest>("WatchEvents").node_id(), "");
}

TEST_F(ControllerCli, EventsEndAtTheTimeout) {
  fleet_.events = {Event(1'700'000'000'000, "a", v1::FleetEvent::KIND_ACKED, "")};
  CliRun r = Controller({"events", "--timeout", "0.2"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "2023-11-14T22:13:20.000Z  a  acked\n");

  // Fewer events than --count asked for by the timeout: a script learns it from the exit code.
  r = Controller({"events", "--timeout", "0.2", "--count", "2"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.err, "fleetbond-cli: the watch ended after 1 of the 2 events asked for (--count)\n");
}

TEST_F(ControllerCli, EventsEndWhenTheControllerEndsTheStream) {
  fleet_.hold_stream_open = false;
  fleet_.events = {Event(1'700'000'000'000, "a", v1::FleetEvent::KIND_ACKED, "")};
  CliRun r = Controller({"events"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "2023-11-14T22:13:20.000Z  a  acked\n");
}

// --- drain ----------------------------------------------------------------------------------

TEST_F(ControllerCli, DrainSendsEveryRedirectAndPrintsTheSessionsEnded) {
  replica_.drained.set_sessions_ended(12);
  replica_.drained.add_redirect("10.0.0.2:9900");
  replica_.drained.add_redirect("10.0.0.3:9900");
  // Repeated and comma-separated --redirect add up, in order.
  CliRun r = Controller({"drain", "--redirect", "10.0.0.2:9900", "--redirect=10.0.0.3:9900"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "controller replica at " + address_ +
                       " is draining: 12 node sessions ended, nodes sent to 10.0.0.2:9900, "
                       "10.0.0.3:9900; it refuses new sessions until it restarts\n");
  ASSERT_TRUE(replica_.last().has_value());
  EXPECT_THAT(replica_.last()->redirect(),
              ::testing::ElementsAre("10.0.0.2:9900", "10.0.0.3:9900"));

  r = Controller({"drain", "--redirect", "a:1, [fd00::1]:2"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(replica_.last()->redirect(), ::testing::ElementsAre("a:1", "[fd00::1]:2"));
}

TEST_F(ControllerCli, DrainWithoutRedirectLeavesItToTheReplica) {
  replica_.drained.set_sessions_ended(1);
  CliRun r = Controller({"drain"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, "controller replica at " + address_ +
                       " is draining: 1 node session ended, without a redirect (each node moves "
                       "on through its own list of controllers); it refuses new sessions until "
                       "it restarts\n");
  ASSERT_TRUE(replica_.last().has_value());
  EXPECT_EQ(replica_.last()->redirect_size(), 0);
}

TEST_F(ControllerCli, DrainJsonIsTheDrainResponse) {
  replica_.drained.set_sessions_ended(3);
  replica_.drained.add_redirect("10.0.0.2:9900");
  CliRun r = Controller({"-j", "drain", "--redirect", "10.0.0.2:9900"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["sessionsEnded"], 3);
  EXPECT_EQ(j["redirect"], nlohmann::json::array({"10.0.0.2:9900"}));
}

TEST_F(ControllerCli, DrainRefusedOrMalformedSaysWhy) {
  replica_.refusal =
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "node certificates may not drain");
  CliRun r = Controller({"drain"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.err, "fleetbond-cli: fleetbond-controller at " + address_ +
                       " refused access: node certificates may not drain - this operator is not "
                       "allowed that call\n");

  replica_.refusal = grpc::Status::OK;
  for (const char* bad : {"10.0.0.2", ":9900", "10.0.0.2:", "a:1,,b:2"}) {
    r = Controller({"drain", "--redirect", bad});
    EXPECT_EQ(r.code, kExitUsage) << bad;
    EXPECT_THAT(r.err, HasSubstr("--redirect needs the HOST:PORT of another controller replica"))
        << bad;
  }
  r = Controller({"nodes", "--redirect", "a:1"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--redirect does not apply to `nodes`"));
  r = Controller({"drain", "now"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("expected: drain [--redirect ADDR]"));
  r = Cli({"drain"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("`drain` is a controller command"));
}

// --- access and reachability -----------------------------------------------------------------

TEST_F(ControllerCli, PermissionAndAuthenticationRefusalsSayWhatToDo) {
  fleet_.Refuse("ListNodes",
                grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "operator \"ann\" is read-only"));
  CliRun r = Controller({"nodes"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_EQ(r.err, "fleetbond-cli: fleetbond-controller at " + address_ +
                       " refused access: operator \"ann\" is read-only - this operator is not "
                       "allowed that call\n");

  fleet_.Refuse("ListNodes",
                grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no operator credentials"));
  r = Controller({"nodes"});
  EXPECT_EQ(r.code, kExitRefused);
  EXPECT_THAT(r.err, HasSubstr(" did not accept our credentials: no operator credentials - give "
                               "an operator certificate (--cert, --key) or a token"));
}

TEST_F(ControllerCli, AnUnreachableControllerIsExitThreeWithASentence) {
  // A port that was just listened on and closed again: nothing accepts there.
  std::string closed;
  {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    std::unique_ptr<grpc::Server> gone = builder.BuildAndStart();
    ASSERT_NE(gone, nullptr);
    gone->Shutdown();
    closed = "127.0.0.1:" + std::to_string(port);
  }
  CliRun r = Cli({"--controller", closed, "--insecure", "nodes"});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_THAT(r.err, StartsWith(kInsecureWarning));
  EXPECT_THAT(r.err, EndsWith("\nfleetbond-cli: cannot reach fleetbond-controller at " + closed +
                              ": connection refused - is it running?\n"));

  r = Cli({"--controller", closed, "--insecure", "events", "--count", "1"});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_THAT(r.err, HasSubstr("cannot reach fleetbond-controller at " + closed));
}

TEST_F(ControllerCli, TheEnvironmentVariableSelectsTheController) {
  fleet_.node = Node("10a0b0c0d0", true);
  setenv("FLEETBOND_CONTROLLER", address_.c_str(), 1);
  CliRun r = Cli({"--insecure", "node", "10a0b0c0d0"});
  unsetenv("FLEETBOND_CONTROLLER");
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(fleet_.Last<v1::GetNodeRequest>("GetNode").id(), "10a0b0c0d0");
}

// --- usage ------------------------------------------------------------------------------------

TEST_F(ControllerCli, NeitherTlsNorInsecureIsRefusedBeforeConnecting) {
  CliRun r = Cli({"--controller", address_, "nodes"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--controller needs TLS options (--controller-ca FILE"));
  EXPECT_THAT(r.err, HasSubstr("--insecure"));
  EXPECT_FALSE(fleet_.Called("ListNodes"));
}

TEST_F(ControllerCli, InconsistentSecurityOptionsAreUsageErrors) {
  const std::vector<std::vector<std::string>> cases = {
      {"--insecure", "--token", "t"},
      {"--insecure", "--controller-ca", "ca.pem"},
      {"--controller-ca", "ca.pem", "--cert", "op.pem"},
      {"--token", "t", "--token-file", "token"},
      {"--controller-ca", "/nonexistent/ca.pem"},
      {"--token-file", "/nonexistent/token"},
  };
  for (const auto& security : cases) {
    std::vector<std::string> args = {"--controller", address_};
    args.insert(args.end(), security.begin(), security.end());
    args.push_back("nodes");
    CliRun r = Cli(args);
    EXPECT_EQ(r.code, kExitUsage) << ::testing::PrintToString(security);
    EXPECT_THAT(r.err, StartsWith("fleetbond-cli: ")) << ::testing::PrintToString(security);
  }
  EXPECT_FALSE(fleet_.Called("ListNodes"));
}

TEST_F(ControllerCli, MisplacedOrMalformedOptionsAreUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"bond", "list"}, "bond commands need --node ID"},
      {{"nodes", "--scope", "x=y"}, "--scope does not apply to `nodes`"},
      {{"settings", "show", "--expect-version", "3"},
       "--expect-version does not apply to `settings show`"},
      {{"events", "--count", "0"}, "--count needs a number of events"},
      {{"events", "--timeout", "soon"}, "--timeout needs a number of seconds"},
      {{"policy", "delete", "x", "--expect-version", "-1"}, "--expect-version needs a settings"},
      {{"info"}, "`info` asks the local node"},
      {{"policy", "rename", "a", "b"}, "expected: policy put"},
      {{"node"}, "expected: node ID"},
      {{"frobnicate"}, "unknown command: frobnicate"},
  };
  for (const Case& c : cases) {
    CliRun r = Controller(c.args);
    EXPECT_EQ(r.code, kExitUsage) << ::testing::PrintToString(c.args);
    EXPECT_THAT(r.err, HasSubstr(c.says)) << ::testing::PrintToString(c.args);
  }
}

TEST_F(ControllerCli, ControllerCommandsAndOptionsNeedTheController) {
  CliRun r = Cli({"nodes"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("`nodes` is a controller command: give --controller ADDR"));
  r = Cli({"settings", "check", "x.conf"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("is a controller command"));
  r = Cli({"--node", "10a0b0c0d0", "bond", "list"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--node needs --controller ADDR"));
  r = Cli({"--api", "127.0.0.1:1", "--controller", address_, "nodes"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("give one of them"));
  r = Cli({"--controller"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--controller needs an address"));
}

TEST_F(ControllerCli, HelpListsTheControllerCommands) {
  CliRun r = Cli({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  for (const char* word :
       {"--controller ADDR", "settings check FILE", "policy put NAME FILE|-",
        "peer-bond set PEER POLICY", "nodes [--selector SEL]", "node ID", "--node ID bond list",
        "events [--node ID] [--count N] [--timeout S]", "drain [--redirect ADDR[,ADDR...]]",
        "--controller-ca FILE", "--token-file FILE", "--insecure"}) {
    EXPECT_THAT(r.out, HasSubstr(word));
  }
}

TEST_F(ControllerCli, WithoutTheControllerTheNodeIsAskedAsBefore) {
  CliRun r = Cli({"--api", "127.0.0.1:1", "bond", "list"});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_EQ(r.err,
            "fleetbond-cli: cannot reach fleetbond-node at 127.0.0.1:1: connection refused - is it "
            "running?\n");
  r = Cli({"--api"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_THAT(r.err, HasSubstr("--api needs an address"));
}

}  // namespace
}  // namespace fleetbond::cli
