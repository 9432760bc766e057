// Fuzz target: what the controller accepts from a node on its session stream. A Fleet (the
// controller's session logic, controller/fleet/fleet.h) runs over a MemoryStore and a FakeClock,
// exactly as tests/unit/controller/fleet drive it, with no gRPC: SessionService only forwards
// the stream's messages to Fleet::Connect (the Hello) and Fleet::OnMessage (everything after it),
// and closes the session on an error, which this harness mirrors.
//
// Input: a control byte, a serialized Hello (ctl & 1 replaces its id and key with IdentityA's so
// that it passes the id check and reaches the rest of the session), then operations:
//   0 advance the clock and Pump       4 SendCommand (a Command from the input)
//   1 any NodeMessage from the input   5 a CommandResult for the last command sent, fuzzed body
//   2 Ack the last push received       6 end the session and connect again (Hello again)
//   3 Nack the last push, fuzzed body  7 a MetricsReport from the input
// With ctl & 2 a second node (IdentityB) is connected first, so pushes carry a directory.
// Each operation is followed by the operator API's reads (Nodes, Node); the run ends by reading
// the events.
//
// Properties checked: the push versions a node receives only grow (docs/controller.md), a
// session that got an error is never fed again, and every command's callback runs at most once.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "controller/fleet/fleet.h"
#include "controller/fleet/fleet_settings.h"
#include "controller/store/memory_store.h"
#include "fleetbond/v1/session.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "shared/clock.h"
#include "tests/fuzz/fuzz_identities.h"
#include "tests/fuzz/fuzz_input.h"

namespace fleetbond::fuzz {
namespace {

using controller::Fleet;

// RecordingSink keeps what the controller sent to one session.
class RecordingSink : public controller::SessionSink {
 public:
  void Send(const v1::ControllerMessage& message) override {
    if (message.has_push()) {
      FB_FUZZ_CHECK(message.push().version() > last_push_);
      last_push_ = message.push().version();
    }
    if (message.has_command()) last_command_ = message.command().id();
  }
  void Close(const absl::Status&) override { closed_ = true; }

  uint64_t last_push_ = 0;
  uint64_t last_command_ = 0;
  bool closed_ = false;
};

v1::Hello HelloOf(const Identity& identity, const std::string& endpoint) {
  v1::Hello hello;
  hello.set_node_id(identity.id().ToString());
  hello.set_public_key(std::string(identity.public_key().begin(), identity.public_key().end()));
  hello.set_software_version("fuzz");
  v1::Interface* i = hello.add_interfaces();
  i->set_name("eth0");
  i->add_endpoints(endpoint);
  (*hello.mutable_labels())["site"] = "lab";
  return hello;
}

template <typename Message>
Message Parse(std::span<const uint8_t> bytes) {
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) m.Clear();
  return m;
}

struct Session {
  std::string id;
  uint64_t session = 0;
  std::shared_ptr<RecordingSink> sink;
  uint64_t last_push_seen = 0;  // carried over reconnects: versions grow across sessions too
};

// Documents are the settings every run starts from: a fleet-wide document and a scope for the
// Hello's labels, so pushes carry real settings. Parsed and validated once per process; each run
// stores them straight into its fresh MemoryStore (what Fleet::ReplaceScope would store after
// validating them, at the same versions 1 and 2), which Fleet::Create then loads.
const std::map<std::string, v1::Settings>& Documents() {
  static const std::map<std::string, v1::Settings>* const documents = [] {
    auto* d = new std::map<std::string, v1::Settings>();
    (*d)[""] =
        controller::ParseDocument(R"({"settings": {"defaultBondingPolicy": "broadcast"}})").first;
    (*d)["site=lab"] = controller::ParseDocument(
                           R"({"settings": {"policies": {"lab": {"basePolicy": "balance-rr",
              "links": {"eth0": {}, "eth1": {}}}}, "defaultBondingPolicy": "lab"}})")
                           .first;
    FB_FUZZ_CHECK(controller::ValidateDocuments(*d).empty());
    return d;
  }();
  return *documents;
}

void Run(FuzzInput& in) {
  FakeClock clock;
  controller::MemoryStore store(clock);
  FB_FUZZ_CHECK(store.PutSettings("", Documents().at(""), 0, "fuzz").ok());
  FB_FUZZ_CHECK(store.PutSettings("site=lab", Documents().at("site=lab"), 1, "fuzz").ok());
  controller::FleetOptions options;
  absl::StatusOr<std::unique_ptr<Fleet>> created = Fleet::Create(store, clock, options);
  FB_FUZZ_CHECK(created.ok());
  Fleet& fleet = **created;
  FB_FUZZ_CHECK(fleet.GetSettings().version == 2);
  std::shared_ptr<Fleet::EventQueue> events = fleet.Watch("");

  const uint8_t ctl = in.Byte();
  if (ctl & 2) {
    auto sink = std::make_shared<RecordingSink>();
    FB_FUZZ_CHECK(fleet.Connect(HelloOf(IdentityB(), "10.0.0.2/9800"), sink).ok());
  }

  v1::Hello hello = Parse<v1::Hello>(in.Blob());
  if (ctl & 1) {
    const Identity& a = IdentityA();
    hello.set_node_id(a.id().ToString());
    hello.set_public_key(std::string(a.public_key().begin(), a.public_key().end()));
  }
  Session node;
  auto connect = [&]() -> bool {
    node.sink = std::make_shared<RecordingSink>();
    node.sink->last_push_ = node.last_push_seen;
    absl::StatusOr<uint64_t> session = fleet.Connect(hello, node.sink);
    if (!session.ok()) return false;
    node.id = hello.node_id();
    node.session = *session;
    return true;
  };
  if (!connect()) return;

  auto commands_done = std::make_shared<std::map<uint64_t, int>>();
  uint64_t commands_sent = 0;
  auto send = [&](const v1::NodeMessage& m) -> bool {
    FB_FUZZ_CHECK(!node.sink->closed_);
    absl::Status status = fleet.OnMessage(node.id, node.session, m);
    if (status.ok()) return true;
    // SessionService closes the stream on an error; the node then dials again.
    fleet.Disconnect(node.id, node.session);
    node.last_push_seen = node.sink->last_push_;
    return connect();
  };

  int ops = 0;
  while (!in.empty() && ++ops <= 64) {
    const uint8_t op = in.Byte();
    bool alive = true;
    switch (op % 8) {
      case 0:
        clock.Advance(absl::Milliseconds(in.U16()));
        fleet.Pump();
        break;
      case 1:
        alive = send(Parse<v1::NodeMessage>(in.Blob()));
        break;
      case 2: {
        v1::NodeMessage m;
        m.mutable_ack()->set_version(node.sink->last_push_);
        alive = send(m);
        break;
      }
      case 3: {
        v1::NodeMessage m;
        *m.mutable_nack() = Parse<v1::Nack>(in.Blob());
        m.mutable_nack()->set_version(node.sink->last_push_);
        alive = send(m);
        break;
      }
      case 4: {
        v1::Command command = Parse<v1::Command>(in.Blob());
        fleet.SendCommand(node.id, command,
                          [commands_done, token = ++commands_sent](
                              absl::StatusOr<v1::CommandResult>) { ++(*commands_done)[token]; });
        break;
      }
      case 5: {
        v1::NodeMessage m;
        *m.mutable_command_result() = Parse<v1::CommandResult>(in.Blob());
        m.mutable_command_result()->set_id(node.sink->last_command_);
        alive = send(m);
        break;
      }
      case 6:
        fleet.Disconnect(node.id, node.session);
        node.last_push_seen = node.sink->last_push_;
        hello.set_last_acked_version(in.Bool() ? node.last_push_seen : in.U64());
        alive = connect();
        break;
      default: {
        v1::NodeMessage m;
        *m.mutable_metrics() = Parse<v1::MetricsReport>(in.Blob());
        alive = send(m);
        break;
      }
    }
    if (!alive) break;
    (void)fleet.Nodes(controller::LabelSelector());
    (void)fleet.Node(node.id);
  }
  // The events, once per run: an empty queue's Next sleeps in a futex even with a zero timeout,
  // and once per operation that was most of a run's time on a loaded machine.
  while (events->Next(absl::ZeroDuration()).has_value()) {
  }
  for (const auto& [id, count] : *commands_done) FB_FUZZ_CHECK(count == 1);
  fleet.Stop();
}

}  // namespace
}  // namespace fleetbond::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Protobuf logs every string field with invalid UTF-8 it parses; that is expected here.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  fleetbond::fuzz::FuzzInput in(data, size);
  fleetbond::fuzz::Run(in);
  return 0;
}
