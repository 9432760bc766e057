// Fuzz target: the inner-IP flow classifier (node/bond/flow_key.h), which reads every packet the
// TUN device hands the node — bytes from the host's own applications, or from whatever the host
// forwards. The input is one inner packet.
//
// Properties checked: the classifier never reads outside the packet (ASan sees the exact-size
// copy), is deterministic, returns only the protocols it documents, ignores bytes after the
// packet's own length for IPv4 and IPv6 alike, and FlowHash is a pure function of the key.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "node/bond/flow_key.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fleetbond::bond::ClassifyPacket;
  using fleetbond::bond::FlowKey;
  const std::vector<uint8_t> packet(data, data + size);
  const std::optional<FlowKey> key = ClassifyPacket(packet);
  const std::optional<FlowKey> again = ClassifyPacket(packet);
  FB_FUZZ_CHECK(key == again);
  if (!key.has_value()) return 0;

  FB_FUZZ_CHECK(key->protocol == 6 || key->protocol == 17 || key->protocol == 132 ||
                key->protocol == 136);
  FB_FUZZ_CHECK(fleetbond::bond::FlowHash(*key) == fleetbond::bond::FlowHash(*again));

  // Link padding after the packet's own length (IPv4 total length, IPv6 payload length) does not
  // change the flow.
  std::vector<uint8_t> padded = packet;
  padded.insert(padded.end(), {0xde, 0xad, 0xbe, 0xef});
  FB_FUZZ_CHECK(ClassifyPacket(padded) == key);
  return 0;
}
