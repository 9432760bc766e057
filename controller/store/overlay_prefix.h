// overlay_prefix.h
//
// The address arithmetic behind Store::LeaseOverlays, shared by every Store implementation.
//
// An overlay address is handled as a 128-bit key: an IPv6 address as its own 128 bits, an IPv4
// address as its IPv4-mapped form (::ffff:a.b.c.d). Keys order like the addresses they stand for,
// so "the lowest free address" is the lowest free key, and the 16 big-endian bytes of a key
// (AddressKeyBytes) order the same way under memcmp, which is how SQLite compares BLOBs.
//
// Example:
//   FB_ASSIGN_OR_RETURN(OverlayPrefix prefix, OverlayPrefix::Parse("10.147.0.0/16"));
//   FB_ASSIGN_OR_RETURN(std::vector<absl::uint128> keys,
//                       AllocateLowestFree(prefix, prefix.first_host(), 3, next_used));
//   FormatAddressKey(keys[0]);  // "10.147.0.1" unless next_used yielded it
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fleetbond::controller {

// OverlayPrefix is a parsed overlay network ("10.147.0.0/16", "fd00:147::/64") and the range of
// keys its nodes may hold: every address but the network address and, for IPv4, the broadcast
// address.
class OverlayPrefix {
 public:
  // Parse accepts "ADDRESS/LENGTH" with the host bits of ADDRESS zero and room for at least one
  // node. IPv6 prefixes that overlap the IPv4-mapped range ::ffff:0:0/96 are refused (their keys
  // would collide with IPv4 ones). Errors are INVALID_ARGUMENT and quote the input.
  static absl::StatusOr<OverlayPrefix> Parse(absl::string_view text);

  // ToString is the canonical form ("fd00:147::/64"), the same for every spelling of the prefix.
  const std::string& ToString() const { return text_; }
  bool is_ipv4() const { return ipv4_; }
  // first_host and last_host bound the keys nodes may hold, both included.
  absl::uint128 first_host() const { return first_host_; }
  absl::uint128 last_host() const { return last_host_; }
  // ContainsHost tells whether `key` is one of the addresses nodes may hold.
  bool ContainsHost(absl::uint128 key) const { return key >= first_host_ && key <= last_host_; }

 private:
  std::string text_;
  bool ipv4_ = false;
  absl::uint128 first_host_ = 0;
  absl::uint128 last_host_ = 0;
};

// ParseAddressKey returns the key of a bare IPv4 or IPv6 address, nullopt if `text` is not one.
std::optional<absl::uint128> ParseAddressKey(absl::string_view text);
// FormatAddressKey returns the canonical text of a key: dotted quad for IPv4-mapped keys,
// RFC 5952 form otherwise.
std::string FormatAddressKey(absl::uint128 key);

// AddressKeyBytes returns the 16 big-endian bytes of `key`; AddressKeyFromBytes reverses it and
// returns nullopt unless `bytes` holds exactly 16 bytes.
std::string AddressKeyBytes(absl::uint128 key);
std::optional<absl::uint128> AddressKeyFromBytes(absl::string_view bytes);

// NextUsedKey yields keys that are taken, in ascending order, and nullopt after the last one.
// Keys below the walk's start and duplicates are allowed and skipped.
using NextUsedKey = std::function<absl::StatusOr<std::optional<absl::uint128>>()>;

// AllocateLowestFree returns the `count` lowest host keys of `prefix` at or above `start` that
// `next_used` does not yield, ascending. RESOURCE_EXHAUSTED ("overlay prefix X is full") when
// fewer than `count` are left; errors of `next_used` are returned as they are. It costs
// O(count + keys yielded), never O(size of the prefix).
absl::StatusOr<std::vector<absl::uint128>> AllocateLowestFree(const OverlayPrefix& prefix,
                                                              absl::uint128 start, size_t count,
                                                              const NextUsedKey& next_used);

}  // namespace fleetbond::controller
