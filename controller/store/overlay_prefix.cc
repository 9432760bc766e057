#include "controller/store/overlay_prefix.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fleetbond::controller {
namespace {

// kIpv4MappedHigh is the top 96 bits of an IPv4-mapped key, ::ffff:0:0/96, shifted down by 32.
constexpr uint64_t kIpv4MappedHigh = 0xffff;

absl::uint128 KeyFromBytes(const uint8_t* bytes, size_t n) {
  absl::uint128 key = 0;
  for (size_t i = 0; i < n; ++i) key = (key << 8) | bytes[i];
  return key;
}

bool IsIpv4Mapped(absl::uint128 key) { return (key >> 32) == kIpv4MappedHigh; }

absl::uint128 HostMask(int host_bits) {
  if (host_bits >= 128) return absl::Uint128Max();
  return (absl::uint128(1) << host_bits) - 1;
}

absl::Status BadPrefix(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("overlay prefix \"%s\" %s", absl::CHexEscape(text), why));
}

}  // namespace

std::optional<absl::uint128> ParseAddressKey(absl::string_view text) {
  if (text.find('\0') != absl::string_view::npos) return std::nullopt;
  const std::string address(text);
  in_addr v4;
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&v4.s_addr);
    return (absl::uint128(kIpv4MappedHigh) << 32) | KeyFromBytes(bytes, 4);
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) return KeyFromBytes(v6.s6_addr, 16);
  return std::nullopt;
}

std::string FormatAddressKey(absl::uint128 key) {
  const std::string bytes = AddressKeyBytes(key);
  char text[INET6_ADDRSTRLEN] = {};
  if (IsIpv4Mapped(key)) {
    inet_ntop(AF_INET, bytes.data() + 12, text, sizeof(text));
  } else {
    inet_ntop(AF_INET6, bytes.data(), text, sizeof(text));
  }
  return text;
}

std::string AddressKeyBytes(absl::uint128 key) {
  std::string bytes(16, '\0');
  for (int i = 15; i >= 0; --i) {
    bytes[i] = static_cast<char>(absl::Uint128Low64(key) & 0xff);
    key >>= 8;
  }
  return bytes;
}

std::optional<absl::uint128> AddressKeyFromBytes(absl::string_view bytes) {
  if (bytes.size() != 16) return std::nullopt;
  return KeyFromBytes(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

absl::StatusOr<OverlayPrefix> OverlayPrefix::Parse(absl::string_view text) {
  const size_t slash = text.find('/');
  if (slash == absl::string_view::npos || text.find('/', slash + 1) != absl::string_view::npos) {
    return BadPrefix(text, "is not ADDRESS/LENGTH (like 10.147.0.0/16 or fd00:147::/64)");
  }
  const absl::string_view length_text = text.substr(slash + 1);
  if (length_text.empty() || length_text.size() > 3 ||
      !std::all_of(length_text.begin(), length_text.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return BadPrefix(text, "has no prefix length after the slash (like /16)");
  }
  const int length = std::stoi(std::string(length_text));
  const std::optional<absl::uint128> key = ParseAddressKey(text.substr(0, slash));
  if (!key.has_value()) return BadPrefix(text, "does not start with an IPv4 or IPv6 address");

  OverlayPrefix prefix;
  prefix.ipv4_ = IsIpv4Mapped(*key) && text.find(':') == absl::string_view::npos;
  const int max_length = prefix.ipv4_ ? 32 : 128;
  if (length > max_length) {
    return BadPrefix(text, absl::StrCat("has a prefix length above ", max_length));
  }
  const int host_bits = max_length - length;
  const absl::uint128 host_mask = HostMask(host_bits);
  const absl::uint128 network = *key & ~host_mask;
  if (network != *key) {
    return BadPrefix(text, absl::StrCat("has host bits set (the network is ",
                                        FormatAddressKey(network), "/", length, ")"));
  }
  if (!prefix.ipv4_) {
    // Overlap with ::ffff:0:0/96: either prefix contains the other's network address.
    const absl::uint128 mapped = absl::uint128(kIpv4MappedHigh) << 32;
    if (IsIpv4Mapped(network) || (host_bits >= 32 && (mapped & ~host_mask) == network)) {
      return BadPrefix(text,
                       "overlaps the IPv4-mapped addresses ::ffff:0:0/96; use an IPv4 prefix");
    }
  }
  // The network address is never leased, and for IPv4 neither is the broadcast address.
  const int reserved_bits = prefix.ipv4_ ? 2 : 1;
  if (host_bits < 64 && (absl::uint128(1) << host_bits) <= reserved_bits) {
    return BadPrefix(text, "leaves no address for nodes");
  }
  prefix.first_host_ = network + 1;
  prefix.last_host_ = (network | host_mask) - (prefix.ipv4_ ? 1 : 0);
  prefix.text_ = absl::StrCat(FormatAddressKey(network), "/", length);
  return prefix;
}

absl::StatusOr<std::vector<absl::uint128>> AllocateLowestFree(const OverlayPrefix& prefix,
                                                              absl::uint128 start, size_t count,
                                                              const NextUsedKey& next_used) {
  std::vector<absl::uint128> free;
  if (count == 0) return free;
  free.reserve(count);
  absl::uint128 candidate = std::max(start, prefix.first_host());
  absl::StatusOr<std::optional<absl::uint128>> used = next_used();
  while (candidate <= prefix.last_host()) {
    if (!used.ok()) return used.status();
    if (used->has_value() && **used < candidate) {
      used = next_used();
      continue;
    }
    if (!used->has_value() || **used != candidate) {
      free.push_back(candidate);
      if (free.size() == count) return free;
    }
    // last_host() may be the largest key there is; stop instead of wrapping around to 0.
    if (candidate == prefix.last_host()) break;
    ++candidate;
  }
  return absl::ResourceExhaustedError(
      absl::StrFormat("overlay prefix %s is full", prefix.ToString()));
}

}  // namespace fleetbond::controller
