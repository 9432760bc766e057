// flow_key.h
//
// A flow is what balance-xor and balance-aware keep on one link: packets with the same source
// port, destination port and IP protocol, read from the inner IP packet that came from the TUN.
// Traffic without ports (ICMP, ...) has no flow and is spread per packet.
//
// Example:
//   std::optional<FlowKey> key = ClassifyPacket(packet);
//   if (key) table.Find(*key, now);
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace fleetbond::bond {

// PathId names a path inside one bond. Ids are small integers, stable for the path's life.
using PathId = uint32_t;
inline constexpr PathId kNoPath = 0xffffffffu;

// FlowKey identifies a flow by (source port, destination port, IP protocol).
struct FlowKey {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t protocol = 0;  // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_UDPLITE

  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

// FlowHash returns a well-mixed 64-bit hash of `key` (the same on every node and every run, so
// that balance-xor's placement is reproducible). Defined here so the per-packet lookup inlines it.
//
// It is the MurmurHash3 64-bit finalizer (fmix64) over the 40 key bits: every input bit flips
// every output bit with probability close to 1/2, so the low bits (a link index modulo a count)
// and the high bits (multiply-shift ranges) are both uniform. No seed: every node must place a
// flow the same way.
inline uint64_t FlowHash(const FlowKey& key) {
  uint64_t h = (static_cast<uint64_t>(key.protocol) << 32) |
               (static_cast<uint64_t>(key.src_port) << 16) | key.dst_port;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// ClassifyPacket reads an IPv4 or IPv6 packet and returns its flow key for TCP, UDP, SCTP and
// UDP-Lite, or nullopt for portless protocols, fragments after the first, and malformed or
// truncated packets. IPv6 extension headers (hop-by-hop, routing, destination options, fragment)
// are walked. Never reads outside `packet`.
std::optional<FlowKey> ClassifyPacket(std::span<const uint8_t> packet);

}  // namespace fleetbond::bond
