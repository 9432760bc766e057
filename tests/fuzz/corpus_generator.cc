// fuzz_corpus_generator OUT_DIR
//
// Writes the seed corpora of the fuzz targets that take binary input into OUT_DIR/<target>/:
// datagrams sealed under the fixed fuzz identities (fuzz_identities.h), handshake initiations and
// scripted handshakes, serialized session messages, and inner IP packets. tests/fuzz/make_corpus.sh
// runs it and adds the text seeds (the repository's example local.conf files). The output is
// deterministic, running it again rewrites the same files, except for the handshake initiations
// (fresh ephemeral keys every time): an existing handshake/raw_initiations is kept.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fleetbond/v1/session.pb.h"
#include "node/transport/handshake.h"
#include "node/transport/packet_codec.h"
#include "node/transport/peer_keys.h"
#include "node/transport/wire_format.h"
#include "shared/identity/identity.h"
#include "shared/settings/local_conf_parser.h"
#include "tests/fuzz/fuzz_identities.h"

namespace fleetbond::fuzz {
namespace {

namespace fs = std::filesystem;
using transport::MessageType;

// Bytes builds an input in the field layout FuzzInput reads.
class Bytes {
 public:
  Bytes& Byte(uint8_t b) {
    data_.push_back(b);
    return *this;
  }
  Bytes& Int(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) data_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes& U16(uint16_t v) { return Int(v, 2); }
  Bytes& U32(uint32_t v) { return Int(v, 4); }
  Bytes& U64(uint64_t v) { return Int(v, 8); }
  Bytes& Raw(const std::vector<uint8_t>& b) {
    data_.insert(data_.end(), b.begin(), b.end());
    return *this;
  }
  Bytes& Raw(const std::string& s) {
    data_.insert(data_.end(), s.begin(), s.end());
    return *this;
  }
  template <typename T>
  Bytes& Blob(const T& b) {
    U16(static_cast<uint16_t>(b.size()));
    return Raw(b);
  }
  const std::vector<uint8_t>& data() const { return data_; }

 private:
  std::vector<uint8_t> data_;
};

class Writer {
 public:
  explicit Writer(fs::path root) : root_(std::move(root)) {}
  void Write(const std::string& target, const std::string& name, const std::vector<uint8_t>& b) {
    fs::create_directories(root_ / target);
    std::ofstream out(root_ / target / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    ++written_;
  }
  void Write(const std::string& target, const std::string& name, const Bytes& b) {
    Write(target, name, b.data());
  }
  // WriteOnce keeps an existing file: for seeds that differ on every run (fresh ephemeral keys).
  void WriteOnce(const std::string& target, const std::string& name, const Bytes& b) {
    if (fs::exists(root_ / target / name)) return;
    Write(target, name, b.data());
  }
  void Write(const std::string& target, const std::string& name, const std::string& s) {
    Write(target, name, std::vector<uint8_t>(s.begin(), s.end()));
  }
  int written() const { return written_; }

 private:
  fs::path root_;
  int written_ = 0;
};

std::vector<uint8_t> Text(const std::string& s) { return {s.begin(), s.end()}; }

// --- packet_open ---

void PacketOpen(Writer& w) {
  auto keys = transport::DerivePeerKeys(IdentityA(), IdentityB().public_key());
  constexpr uint64_t kStart = 1'700'000'000'000'000'000;
  auto tx = transport::PacketCodec::Create(IdentityA().id(), IdentityB().id(), *keys, kStart);
  auto seal_data = [&](const std::string& inner) {
    std::vector<uint8_t> out(inner.size() + transport::kDataOverhead);
    auto r = tx->SealData(7, 42, Text(inner), out);
    out.resize(r.size);
    return out;
  };
  auto seal_probe = [&] {
    std::vector<uint8_t> out(transport::kHeaderSize + transport::kProbeBodySize +
                             transport::kAeadTagSize + 8);
    std::vector<uint8_t> padding(8, 0);
    auto r = tx->SealProbe(8, {.probe_seq = 3, .sender_timestamp_ns = 123456789}, out, padding);
    out.resize(r.size);
    return out;
  };
  auto seal_reply = [&] {
    std::vector<uint8_t> out(transport::kHeaderSize + transport::kProbeReplyBodySize +
                             transport::kAeadTagSize);
    auto r = tx->SealProbeReply(9,
                                {.probe_seq = 3,
                                 .echoed_timestamp_ns = 123456789,
                                 .hold_time_ns = 1000,
                                 .highest_path_seq = 77,
                                 .received_on_path = 70},
                                out);
    out.resize(r.size);
    return out;
  };
  // An IPv4 UDP packet as the inner packet.
  const std::string inner(
      "\x45\x00\x00\x1c\x00\x01\x00\x00\x40\x11\x00\x00\x0a\x93\x00\x01"
      "\x0a\x93\x00\x02\x13\x88\x13\x89\x00\x08\x00\x00",
      28);
  std::vector<uint8_t> d1 = seal_data(inner);
  std::vector<uint8_t> d2 = seal_data("x");
  std::vector<uint8_t> p1 = seal_probe();
  std::vector<uint8_t> r1 = seal_reply();
  // Mode 0, raw: sealed datagrams in order, then one again (a replay), then a reordered one.
  w.Write("packet_open", "raw_data", Bytes().Byte(0).Blob(d1));
  w.Write("packet_open", "raw_mixed", Bytes().Byte(0).Blob(d1).Blob(p1).Blob(r1).Blob(d2));
  w.Write("packet_open", "raw_replay", Bytes().Byte(0).Blob(d2).Blob(d1).Blob(d2));
  std::vector<uint8_t> handshake(d1);
  handshake[1] = 0x10;
  w.Write("packet_open", "raw_bad_headers",
          Bytes()
              .Byte(0)
              .Blob(handshake)
              .Blob(std::vector<uint8_t>{1})
              .Blob(std::vector<uint8_t>(60, 0)));

  // Mode 1, sealed records: ctl, counter (absolute or delta), [type], body, header tweaks.
  std::vector<uint8_t> data_body{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9};
  data_body.insert(data_body.end(), inner.begin(), inner.end());
  std::vector<uint8_t> probe_body(transport::kProbeBodySize, 0x21);
  std::vector<uint8_t> reply_body(transport::kProbeReplyBodySize, 0x33);
  w.Write("packet_open", "sealed_each_type",
          Bytes()
              .Byte(1)
              .Byte(0x01)
              .U64(kStart)
              .Blob(data_body)  // data at kStart
              .Byte(0x02)
              .U16(1)
              .Blob(probe_body)  // probe, counter + 1
              .Byte(0x04)
              .U16(1)
              .Blob(reply_body)  // reply, counter + 1
              .Byte(0x00)
              .U16(0)
              .Blob(data_body)  // same counter: replayed
              .Byte(0x00)
              .U16(static_cast<uint16_t>(-9000))
              .Blob(data_body)  // too old
              .Byte(0x20)
              .U16(100)
              .Blob(data_body)
              .U16(25)
              .Byte(0x40)  // a flipped bit
              .data());
  w.Write("packet_open", "sealed_header_fields",
          Bytes()
              .Byte(1)
              .Byte(0x09)
              .U64(5)
              .Blob(data_body)
              .Byte(1)
              .Byte(0)
              .Raw(std::string(3, '\0'))
              .Byte(0x08)
              .U16(1)
              .Blob(data_body)
              .Byte(0)
              .Byte(2)
              .Raw(std::string(3, '\0'))
              .Byte(0x10)
              .U16(1)
              .Blob(data_body)
              .U64(IdentityC().id().value())
              .Byte(0x06)
              .U16(1)
              .Byte(0x11)
              .Blob(probe_body)
              .Byte(0x40)
              .U16(1)
              .Blob(data_body)
              .Byte(2)
              .data());

  // Mode 2, codec: seal data, probe, reply (op & 0x80 clear), then deliver out of order.
  w.Write("packet_open", "codec_reorder",
          Bytes()
              .Byte(2)
              .U64(kStart)
              .Byte(0x00)
              .U32(1)
              .Byte(0)
              .U64(10)
              .Blob(Text(inner))
              .Byte(0x01)
              .U32(2)
              .Byte(4)
              .U32(5)
              .U64(99)
              .Blob(std::vector<uint8_t>(4, 0))
              .Byte(0x02)
              .U32(3)
              .Byte(0)
              .U32(5)
              .U64(99)
              .U32(10)
              .U32(2)
              .U64(2)
              .Byte(0x40)
              .U32(4)
              .Byte(0)
              .U64(11)
              .Blob(Text("in place"))
              .Byte(0x80)
              .U16(2)
              .Byte(0x80)
              .U16(0)
              .Byte(0x80)
              .U16(0)
              .Byte(0x80)
              .U16(3)
              .Byte(0x80)
              .U16(1)
              .data());
  w.Write("packet_open", "codec_exhaustion",
          Bytes()
              .Byte(2)
              .U64(~uint64_t{0} - 2)
              .Byte(0x00)
              .U32(1)
              .Byte(0)
              .U64(1)
              .Blob(Text("a"))
              .Byte(0x00)
              .U32(2)
              .Byte(0)
              .U64(2)
              .Blob(Text("b"))
              .Byte(0x00)
              .U32(3)
              .Byte(0)
              .U64(3)
              .Blob(Text("c"))
              .Byte(0x00)
              .U32(4)
              .Byte(0xff)
              .U64(4)
              .Blob(Text("small buffer"))
              .Byte(0x80)
              .U16(0)
              .Byte(0x80)
              .U16(1)
              .data());

  // Mode 3, window: counters forward, back, a duplicate, a big jump, an old one.
  w.Write("packet_open", "window",
          Bytes()
              .Byte(3)
              .Byte(1)
              .U64(100000)
              .Byte(0)
              .U16(5)
              .Byte(0)
              .U16(static_cast<uint16_t>(-3))
              .Byte(0)
              .U16(0)
              .Byte(1)
              .U64(100000 + 8200)
              .Byte(1)
              .U64(100000 + 70)
              .Byte(1)
              .U64(100000 + 8000)
              .Byte(1)
              .U64(1u << 31)
              .Byte(3)
              .U64(1u << 30)
              .Byte(1)
              .U64(~uint64_t{0})
              .data());
}

// --- config_push ---

v1::Settings SettingsOf(const std::string& json) {
  return settings::ParseLocalConf(json).conf.settings;
}

v1::PeerEntry EntryOf(const Identity& id, const std::string& overlay, const std::string& ep) {
  v1::PeerEntry e;
  e.set_id(id.id().ToString());
  e.set_public_key(std::string(id.public_key().begin(), id.public_key().end()));
  e.set_overlay_address(overlay);
  e.add_endpoints(ep);
  return e;
}

std::string Serialized(const v1::ConfigPush& push) {
  v1::ControllerMessage m;
  *m.mutable_push() = push;
  return m.SerializeAsString();
}

void ConfigPush(Writer& w) {
  v1::ConfigPush full;
  full.set_version(5);
  *full.mutable_settings() = SettingsOf(R"({"settings": {
      "defaultBondingPolicy": "wan",
      "policies": {"wan": {"basePolicy": "active-backup", "failoverInterval": 500,
                           "links": {"eth0": {"mode": "primary", "failoverTo": "eth1"},
                                     "eth1": {}}},
                   "datacentre-aware": {"basePolicy": "balance-aware"}},
      "peerSpecificBonds": {")" + IdentityC().id().ToString() +
                                        R"(": "balance-xor"}}})");
  *full.add_peers() = EntryOf(IdentityB(), "10.147.0.2", "10.0.0.2/9800");
  *full.add_peers() = EntryOf(IdentityC(), "10.147.0.3", "fd00::3/9800");
  full.set_overlay_address("10.147.0.1/16");
  full.set_metrics_interval_ms(5000);
  // ctl: 4 = node is A, no local.conf; 6 = with the example local.conf; 5 = local.conf from input.
  w.Write("config_push", "full", Bytes().Byte(4).Raw(Serialized(full)));
  w.Write("config_push", "full_example_local", Bytes().Byte(6).Raw(Serialized(full)));
  w.Write("config_push", "full_own_local",
          Bytes()
              .Byte(5)
              .Blob(std::string(R"({"settings": {"policies": {"wan": {"links": {"wlan0": {}}},
                  "mine": {"basePolicy": "broadcast"}}}, "overlay": "10.1.0.1/24"})"))
              .Raw(Serialized(full)));

  v1::ConfigPush delta;
  delta.set_version(6);
  *delta.mutable_settings() = full.settings();
  delta.set_overlay_address(full.overlay_address());
  delta.set_metrics_interval_ms(1000);
  delta.set_peers_mode(v1::ConfigPush::PEERS_DELTA);
  delta.set_base_version(5);
  delta.add_removed_peers(IdentityC().id().ToString());
  *delta.add_peers() = EntryOf(IdentityB(), "10.147.0.9", "10.0.0.9/9800");
  const std::string acked = full.SerializeAsString();
  w.Write("config_push", "delta", Bytes().Byte(12).Blob(acked).Raw(Serialized(delta)));
  v1::ConfigPush unchanged = delta;
  unchanged.clear_peers();
  unchanged.clear_removed_peers();
  unchanged.set_peers_mode(v1::ConfigPush::PEERS_UNCHANGED);
  w.Write("config_push", "unchanged", Bytes().Byte(12).Blob(acked).Raw(Serialized(unchanged)));
  w.Write("config_push", "reack", Bytes().Byte(12).Blob(acked).Raw(Serialized(full)));
  v1::ConfigPush bad = full;
  bad.set_overlay_address("10.147.0.300/16");
  bad.mutable_peers(0)->set_id("0123456789");
  (*bad.mutable_settings()->mutable_policies())["wan"].set_failover_interval(1);
  w.Write("config_push", "nack", Bytes().Byte(4).Raw(Serialized(bad)));
}

// --- node_message ---

std::string HelloBytes() {
  v1::Hello hello;
  hello.set_software_version("0.1.0");
  v1::Interface* i = hello.add_interfaces();
  i->set_name("eth0");
  i->add_addresses("10.0.0.1/24");
  i->add_endpoints("10.0.0.1/9800");
  i->add_endpoints("fd00::1/9800");
  (*hello.mutable_labels())["site"] = "lab";
  return hello.SerializeAsString();  // ctl & 1 fills in IdentityA's id and key
}

void NodeMessage(Writer& w) {
  v1::MetricsReport report;
  report.set_unix_time_ms(1'700'000'000'000);
  v1::Bond* bond = report.add_bonds();
  bond->mutable_summary()->set_peer(IdentityB().id().ToString());
  bond->set_failovers(1);
  v1::Path* path = bond->add_paths();
  path->set_interface("eth0");
  path->set_remote_endpoint("10.0.0.2/9800");
  path->set_active(true);
  report.mutable_counters()->set_drops_bad_packets(3);
  v1::MetricsReport later = report;
  later.mutable_bonds(0)->set_failovers(4);

  v1::Nack nack;
  v1::SettingsIssue* issue = nack.add_errors();
  issue->set_path("settings.policies.x.links");
  issue->set_message("no such link");
  v1::Nack directory_nack;
  directory_nack.add_errors()->set_path("peers");

  v1::Command command;
  command.mutable_get_bond()->set_peer(IdentityB().id().ToString());
  v1::CommandResult result;
  result.set_code(0);
  result.mutable_bond()->mutable_summary()->set_peer(IdentityB().id().ToString());

  v1::NodeMessage ack_zero;
  ack_zero.mutable_ack()->set_version(0);

  // Ops: 0 pump(ms), 1 NodeMessage, 2 ack, 3 nack, 4 command, 5 result, 6 reconnect, 7 metrics.
  w.Write("node_message", "session",
          Bytes()
              .Byte(3)
              .Blob(HelloBytes())
              .Byte(0)
              .U16(0)
              .Byte(2)
              .Byte(7)
              .Blob(report.SerializeAsString())
              .Byte(7)
              .Blob(later.SerializeAsString())
              .Byte(0)
              .U16(1500)
              .Byte(4)
              .Blob(command.SerializeAsString())
              .Byte(5)
              .Blob(result.SerializeAsString())
              .Byte(1)
              .Blob(ack_zero.SerializeAsString())
              .data());
  w.Write("node_message", "nacks_and_reconnect",
          Bytes()
              .Byte(3)
              .Blob(HelloBytes())
              .Byte(0)
              .U16(0)
              .Byte(3)
              .Blob(nack.SerializeAsString())
              .Byte(0)
              .U16(1200)
              .Byte(3)
              .Blob(directory_nack.SerializeAsString())
              .Byte(0)
              .U16(0)
              .Byte(2)
              .Byte(6)
              .Byte(1)
              .Byte(0)
              .U16(0)
              .Byte(6)
              .Byte(0)
              .U64(12345)
              .Byte(0)
              .U16(0)
              .Byte(2)
              .data());
  v1::NodeMessage hello_again;
  hello_again.mutable_hello()->ParseFromString(HelloBytes());
  w.Write("node_message", "hello_twice",
          Bytes().Byte(1).Blob(HelloBytes()).Byte(1).Blob(hello_again.SerializeAsString()).data());
  w.Write("node_message", "bad_hello", Bytes().Byte(0).Blob(HelloBytes()).data());
}

// --- flow_classifier ---

void FlowClassifier(Writer& w) {
  auto hex = [](const std::string& s) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i + 1 < s.size(); i += 2) {
      out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
    }
    return out;
  };
  // IPv4 TCP (20-byte header + 20-byte TCP header).
  w.Write("flow_classifier", "ipv4_tcp",
          hex("4500002800010000400600000a9300010a930002"
              "c35001bb00000000000000005002ffff00000000"));
  // IPv4 UDP.
  w.Write("flow_classifier", "ipv4_udp",
          hex("4500001c00010000401100000a9300010a9300021388138900080000"));
  // IPv4 with options (IHL 6) and SCTP.
  w.Write("flow_classifier", "ipv4_options_sctp",
          hex("4600002400010000408400000a9300010a93000201010000"
              "0b590b5a0000000100000000"));
  // IPv4 AH then UDP.
  w.Write("flow_classifier", "ipv4_ah_udp",
          hex("4500002800010000403300000a9300010a930002"
              "110100000000000100000001"
              "0035d43100080000"));
  // IPv4 later fragment, and ICMP.
  w.Write("flow_classifier", "ipv4_fragment",
          hex("4500001c000100b9401100000a9300010a9300021388138900080000"));
  w.Write("flow_classifier", "ipv4_icmp",
          hex("4500001c00010000400100000a9300010a9300020800f7ff00000000"));
  // IPv6 UDP, and IPv6 hop-by-hop + fragment (first) + TCP.
  const std::string v6_addrs = "fd000000000000000000000000000001fd000000000000000000000000000002";
  w.Write("flow_classifier", "ipv6_udp", hex("6000000000081140" + v6_addrs + "1388138900080000"));
  w.Write("flow_classifier", "ipv6_ext_tcp",
          hex("6000000000240040" + v6_addrs + "2c00000000000000" + "0600000100000001" +
              "c35001bb00000000000000005002ffff00000000"));
  // UDP-Lite over IPv6 with destination options.
  w.Write("flow_classifier", "ipv6_dstopt_udplite",
          hex("6000000000103c40" + v6_addrs + "8800000000000000" + "1388138900080000"));
}

// --- local_conf (the example files of deploy/examples are copied in by make_corpus.sh) ---

void LocalConf(Writer& w) {
  auto peer = [](const Identity& id, const std::string& overlay, const std::string& endpoints) {
    return "\"" + id.id().ToString() + "\": {\"publicKey\": \"" + EncodePublicKey(id.public_key()) +
           "\", \"overlay\": \"" + overlay + "\", \"endpoints\": [" + endpoints + "]}";
  };
  w.Write("local_conf", "standalone.conf",
          std::string(R"({
  "settings": {
    "defaultBondingPolicy": "two-wan",
    "policies": {"two-wan": {"basePolicy": "active-backup", "failoverInterval": 300,
                             "links": {"eth0": {"mode": "primary", "failoverTo": "eth1"},
                                       "eth1": {"mode": "spare"}}}},
    "peerSpecificBonds": {")") +
              IdentityC().id().ToString() + R"(": "balance-xor"}
  },
  "overlay": "10.147.0.1/24",
  "peers": {
    )" + peer(IdentityB(), "10.147.0.2", R"("10.201.0.2/9800", "fd20:0:0:2::2/9800")") +
              ",\n    " + peer(IdentityC(), "10.147.0.3", R"("10.201.0.3/9800")") + R"(
  }
}
)");
  w.Write("local_conf", "errors.conf", std::string(R"({"settings": {
    "defaultBondingPolicy": "missing",
    "policies": {"p": {"basePolicy": "active-backup", "failoverInterval": -5,
                       "links": {"eth0": {"failoverTo": "eth9", "mode": "primari"}}}},
    "peerSpecificBonds": {"not-an-id": "p"},
    "balance-xor": {}},
  "overlay": "10.147.0.300/24",
  "peers": {"0123456789": {"publicKey": "AAAA", "endpoints": ["10.0.0.1"]}}
})"));
}

// --- handshake ---

void Handshake(Writer& w) {
  // Mode 0, messages: an exchange left as made (and the initiation also judged under another
  // static key, the response under another timestamp), then one with bytes changed.
  w.Write("handshake", "messages_ok",
          Bytes()
              .Byte(0)
              .Byte(0)
              .Byte(1)
              .U64(1'700'000'000'000'000'000)
              .Byte(0)
              .Byte(1)
              .Byte(0)
              .Byte(1));
  w.Write("handshake", "messages_changed",
          Bytes()
              .Byte(0)
              .Byte(1)
              .Byte(3)
              .U64(42)
              .Byte(0)
              .Byte(0)
              .Byte(2)
              .Byte(60)
              .Byte(1)
              .Byte(23)
              .Byte(0x80));
  w.Write("handshake", "messages_truncated",
          Bytes().Byte(0).Byte(0).Byte(5).U64(7).Byte(4).Byte(67));

  // Mode 1, sessions. Ops: 0 clock step + both tick, 1 deliver (k, how[, changes]), 2 seal data,
  // 3 raw datagram, 4 restart, 5 tick, 6 deliver the newest, 7 short step + deliver all; bit 3
  // of the op picks the side.
  const std::string inner(
      "\x45\x00\x00\x1c\x00\x01\x00\x00\x40\x11\x00\x00\x0a\x93\x00\x01"
      "\x0a\x93\x00\x02\x13\x88\x13\x89\x00\x08\x00\x00",
      28);
  Bytes one_way;
  one_way.Byte(1).Byte(0).Byte(0);
  one_way.Byte(5).Byte(6).Byte(6);                    // A initiates, B answers, A takes it
  one_way.Byte(2).Blob(inner).Byte(6);                // A -> B data
  one_way.Byte(2 | 8).Blob(inner).Byte(6);            // B -> A data
  one_way.Byte(0).U16(0x8000 | 125).Byte(7).Byte(0);  // rekey after 120 s
  one_way.Byte(7).Byte(0).Byte(2).Blob(inner).Byte(2 | 8).Blob(inner).Byte(7).Byte(0);
  w.Write("handshake", "sessions_one_way", one_way);

  Bytes simultaneous;
  simultaneous.Byte(1).Byte(1).Byte(1);         // A and C, 5 s rekeys
  simultaneous.Byte(0).U16(0).Byte(7).Byte(0);  // both initiate at once
  simultaneous.Byte(2).Blob(inner).Byte(2 | 8).Blob(inner).Byte(7).Byte(0);
  simultaneous.Byte(0).U16(1000).Byte(7).Byte(0).Byte(0).U16(0x8000 | 6).Byte(7).Byte(60);
  simultaneous.Byte(2).Blob(inner).Byte(7).Byte(0);
  w.Write("handshake", "sessions_simultaneous", simultaneous);

  Bytes restart;
  restart.Byte(1).Byte(0).Byte(0);
  restart.Byte(5).Byte(6).Byte(6).Byte(2).Blob(inner);
  restart.Byte(4 | 8);  // B restarts: A's packet is stale
  restart.Byte(6).Byte(5 | 8).Byte(6).Byte(6).Byte(2).Blob(inner).Byte(6);
  restart.Byte(4).Byte(0).U16(2000).Byte(7).Byte(0).Byte(7).Byte(0);
  w.Write("handshake", "sessions_restart", restart);

  Bytes tamper;
  tamper.Byte(1).Byte(0).Byte(0);
  tamper.Byte(5).Byte(1).Byte(0).Byte(1 | 2).Byte(1).Byte(30).Byte(4);  // changed copy, kept
  tamper.Byte(1).Byte(0).Byte(1).Byte(1).Byte(0);   // the original, kept: a duplicate
  tamper.Byte(1).Byte(0).Byte(2).Byte(4).Byte(40);  // truncated
  tamper.Byte(1).Byte(0).Byte(0);                   // again: replayed
  tamper.Byte(6).Byte(2 | 8).Blob(inner).Byte(1).Byte(0).Byte(2 | 1).Byte(1).Byte(50).Byte(1);
  tamper.Byte(6).Byte(3).Blob(std::string(68, '\0'));
  w.Write("handshake", "sessions_tamper", tamper);

  Bytes volume;
  volume.Byte(1).Byte(0).Byte(2 | (1 << 2));  // rekey after 2 packets, stop at 4
  volume.Byte(5).Byte(6).Byte(6);
  for (int i = 0; i < 5; ++i) volume.Byte(2).Blob(inner).Byte(6).Byte(0).U16(10);
  volume.Byte(7).Byte(0).Byte(7).Byte(0).Byte(2).Blob(inner).Byte(6);
  w.Write("handshake", "sessions_volume", volume);

  // Initiations that cross with a round trip over retry_interval: the lower id's own is 1 s old
  // when the higher id's arrives, so both answer, both responses are unexpected, and each side
  // seals under an epoch the other lacks (unknown_key_epoch both ways) until the rekey at 130 s.
  Bytes crossing;
  crossing.Byte(1).Byte(1).Byte(0);
  crossing.Byte(5 | 8).Byte(0 | 8).U16(1000).Byte(5).Byte(6).Byte(1).Byte(0).Byte(0).Byte(7).Byte(
      0);
  auto seal_both = [&](Bytes& b) { b.Byte(2).Blob(inner).Byte(6).Byte(2 | 8).Blob(inner).Byte(6); };
  seal_both(crossing);
  crossing.Byte(0).U16(0x8000 | 100).Byte(7).Byte(0);
  seal_both(crossing);
  crossing.Byte(0).U16(0x8000 | 31).Byte(7).Byte(0).Byte(7).Byte(0);
  seal_both(crossing);
  w.Write("handshake", "sessions_crossing", crossing);

  // Mode 2, raw: initiations sealed from A to B (fresh ephemeral keys each time this runs, so
  // existing files are kept), one replayed, a newer one, then garbage of each size.
  const SharedSecret ss = *IdentityA().ComputeSharedSecret(IdentityB().public_key());
  auto initiation = [&](transport::KeyEpoch epoch, uint64_t timestamp) {
    auto i =
        transport::CreateInitiation(IdentityA(), IdentityB().public_key(), ss, epoch, timestamp);
    return std::vector<uint8_t>(i->message.begin(), i->message.end());
  };
  std::vector<uint8_t> i1 = initiation(1, 1'700'000'000'000'000'000);
  std::vector<uint8_t> i2 = initiation(3, 1'700'000'001'000'000'000);
  std::vector<uint8_t> response = i1;
  response[transport::kTypeOffset] = static_cast<uint8_t>(MessageType::kHandshakeResponse);
  w.WriteOnce("handshake", "raw_initiations",
              Bytes()
                  .Byte(2)
                  .Byte(0)
                  .Byte(2)
                  .Blob(i1)
                  .Byte(2)
                  .Blob(i1)
                  .Byte(0)
                  .U16(100)
                  .Byte(1)
                  .Byte(2)
                  .Blob(i2)
                  .Byte(3)
                  .Blob(response)
                  .Byte(2)
                  .Blob(std::vector<uint8_t>(i1.begin(), i1.begin() + 40)));
}

}  // namespace
}  // namespace fleetbond::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  fleetbond::fuzz::Writer w{std::filesystem::path(argv[1])};
  fleetbond::fuzz::PacketOpen(w);
  fleetbond::fuzz::ConfigPush(w);
  fleetbond::fuzz::NodeMessage(w);
  fleetbond::fuzz::FlowClassifier(w);
  fleetbond::fuzz::LocalConf(w);
  fleetbond::fuzz::Handshake(w);
  std::printf("fuzz_corpus_generator: %d files in %s\n", w.written(), argv[1]);
  return 0;
}
