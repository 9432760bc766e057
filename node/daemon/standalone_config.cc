#include "node/daemon/standalone_config.h"

#include <sys/socket.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "node/daemon/path_planner.h"
#include "node/netlink/rtnetlink.h"
#include "node/transport/udp_socket.h"
#include "shared/settings/did_you_mean.h"

namespace fleetbond::daemon {
namespace {

using settings::Error;
using settings::Issue;

const std::vector<std::string>& PeerKeys() {
  static const auto* keys = new std::vector<std::string>{"publicKey", "overlay", "endpoints"};
  return *keys;
}

std::string TypeName(const nlohmann::json& j) { return j.type_name(); }

}  // namespace

ParsedStandaloneConfig ParseStandaloneConfig(const settings::LocalConf& conf) {
  ParsedStandaloneConfig out;
  std::vector<Issue>& issues = out.issues;

  std::optional<netlink::ParsedCidr> own;
  std::string own_address;  // this node's overlay address without the prefix length
  if (!conf.overlay.is_null()) {
    if (!conf.overlay.is_string()) {
      issues.push_back(Error("overlay", absl::StrCat("expected \"ip/prefixlen\" such as "
                                                     "\"10.147.0.1/24\", got a ",
                                                     TypeName(conf.overlay))));
    } else {
      const std::string text = conf.overlay.get<std::string>();
      absl::StatusOr<netlink::ParsedCidr> cidr = netlink::ParseCidr(text);
      if (!cidr.ok()) {
        issues.push_back(Error("overlay", std::string(cidr.status().message())));
      } else if (text.find('/') == std::string::npos) {
        issues.push_back(Error("overlay", absl::StrCat("\"", text,
                                                       "\" has no prefix length; write the "
                                                       "overlay network too, e.g. \"",
                                                       text, "/24\"")));
      } else {
        own = *cidr;
        own_address = text.substr(0, text.find('/'));
        out.config.overlay = text;
      }
    }
  }

  if (conf.peers.is_null()) return out;
  if (!conf.peers.is_object()) {
    issues.push_back(Error("peers", absl::StrCat("expected an object of peer id -> peer, got a ",
                                                 TypeName(conf.peers))));
    return out;
  }
  if (!conf.peers.empty() && conf.overlay.is_null()) {
    issues.push_back(Error("overlay",
                           "static peers need this node's overlay address: add "
                           "\"overlay\": \"10.147.0.1/24\" (your address and prefix)"));
  }

  std::set<std::string> overlay_seen;
  for (const auto& [id_text, value] : conf.peers.items()) {
    const std::string path = absl::StrCat("peers.", id_text);
    StaticPeer peer;
    bool ok = true;
    absl::StatusOr<NodeId> id = NodeId::Parse(id_text);
    if (!id.ok()) {
      issues.push_back(
          Error(path, absl::StrCat("peer ids are 10 hex digits, got \"", id_text, "\"")));
      ok = false;
    } else {
      peer.id = *id;
    }
    if (!value.is_object()) {
      issues.push_back(Error(path, absl::StrCat("expected an object with publicKey, overlay and "
                                                "endpoints, got a ",
                                                TypeName(value))));
      continue;
    }
    for (const auto& [key, unused] : value.items()) {
      if (std::find(PeerKeys().begin(), PeerKeys().end(), key) == PeerKeys().end()) {
        issues.push_back(Error(absl::StrCat(path, ".", key),
                               absl::StrCat("unknown key", settings::DidYouMean(key, PeerKeys()),
                                            "; a peer has publicKey, overlay and endpoints")));
      }
    }

    const std::string key_path = absl::StrCat(path, ".publicKey");
    if (!value.contains("publicKey")) {
      issues.push_back(Error(key_path,
                             "missing: the peer's public key, as its "
                             "`fleetbond-node --init` printed it"));
      ok = false;
    } else if (!value["publicKey"].is_string()) {
      issues.push_back(Error(key_path, "expected a base64 string"));
      ok = false;
    } else {
      absl::StatusOr<PublicKey> key = DecodePublicKey(value["publicKey"].get<std::string>());
      if (!key.ok()) {
        issues.push_back(Error(key_path, std::string(key.status().message())));
        ok = false;
      } else {
        peer.public_key = *key;
        if (id.ok()) {
          absl::Status match = VerifyPeerId(*id, *key);
          if (!match.ok()) {
            issues.push_back(Error(key_path, std::string(match.message())));
            ok = false;
          }
        }
      }
    }

    const std::string overlay_path = absl::StrCat(path, ".overlay");
    if (!value.contains("overlay")) {
      issues.push_back(Error(overlay_path,
                             "missing: the peer's overlay address, e.g. "
                             "\"10.147.0.2\""));
      ok = false;
    } else if (!value["overlay"].is_string()) {
      issues.push_back(Error(overlay_path, "expected an IP address string"));
      ok = false;
    } else {
      const std::string addr = value["overlay"].get<std::string>();
      absl::StatusOr<netlink::ParsedCidr> parsed = netlink::ParseCidr(addr);
      if (!parsed.ok() || addr.find('/') != std::string::npos) {
        issues.push_back(Error(overlay_path, absl::StrCat("\"", addr,
                                                          "\" is not a bare IPv4 or IPv6 "
                                                          "address")));
        ok = false;
      } else if (own.has_value() && !PrefixContains(own_address, own->prefix_len, addr)) {
        issues.push_back(Error(overlay_path, absl::StrCat("\"", addr,
                                                          "\" is outside this node's overlay "
                                                          "network ",
                                                          out.config.overlay)));
        ok = false;
      } else if (!overlay_seen.insert(addr).second) {
        issues.push_back(Error(overlay_path, absl::StrCat("\"", addr,
                                                          "\" is already another peer's "
                                                          "overlay address")));
        ok = false;
      } else if (own.has_value() && addr == own_address) {
        issues.push_back(Error(overlay_path, absl::StrCat("\"", addr,
                                                          "\" is this node's own overlay "
                                                          "address")));
        ok = false;
      } else {
        peer.overlay_address = addr;
      }
    }

    const std::string ep_path = absl::StrCat(path, ".endpoints");
    if (!value.contains("endpoints")) {
      issues.push_back(Error(ep_path,
                             "missing: where the peer listens, e.g. "
                             "[\"10.201.0.2/9800\"]"));
      ok = false;
    } else if (!value["endpoints"].is_array() || value["endpoints"].empty()) {
      issues.push_back(Error(ep_path, "expected a non-empty list of \"ip/port\" strings"));
      ok = false;
    } else {
      size_t i = 0;
      for (const nlohmann::json& ep : value["endpoints"]) {
        const std::string item_path = absl::StrCat(ep_path, "[", i++, "]");
        if (!ep.is_string()) {
          issues.push_back(Error(item_path, "expected an \"ip/port\" string"));
          ok = false;
          continue;
        }
        const std::string text = ep.get<std::string>();
        absl::StatusOr<transport::Endpoint> parsed = transport::Endpoint::Parse(text);
        if (!parsed.ok() || text.find('/') == std::string::npos) {
          issues.push_back(Error(item_path, absl::StrCat("\"", text,
                                                         "\" is not \"ip/port\", e.g. "
                                                         "\"10.201.0.2/9800\" or "
                                                         "\"fd20:1::2/9800\"")));
          ok = false;
          continue;
        }
        peer.endpoints.push_back(text);
      }
    }
    if (ok) out.config.peers.push_back(std::move(peer));
  }
  std::sort(out.config.peers.begin(), out.config.peers.end(),
            [](const StaticPeer& a, const StaticPeer& b) { return a.id < b.id; });
  return out;
}

DirectoryChange DiffDirectory(const StandaloneConfig& from, const StandaloneConfig& to) {
  DirectoryChange change;
  change.overlay_changed = from.overlay != to.overlay;
  auto by_id = [](const StaticPeer& a, const StaticPeer& b) { return a.id < b.id; };
  std::vector<StaticPeer> old_peers = from.peers;
  std::vector<StaticPeer> new_peers = to.peers;
  std::sort(old_peers.begin(), old_peers.end(), by_id);
  std::sort(new_peers.begin(), new_peers.end(), by_id);
  auto o = old_peers.begin();
  auto n = new_peers.begin();
  while (o != old_peers.end() || n != new_peers.end()) {
    if (n == new_peers.end() || (o != old_peers.end() && o->id < n->id)) {
      change.removed.push_back((o++)->id);
    } else if (o == old_peers.end() || n->id < o->id) {
      change.added.push_back(*n++);
    } else {
      if (o->public_key != n->public_key || o->overlay_address != n->overlay_address) {
        change.replaced.push_back(*n);
      } else if (o->endpoints != n->endpoints) {
        change.moved.push_back(*n);
      }
      ++o;
      ++n;
    }
  }
  return change;
}

std::vector<settings::Issue> StandaloneIssues(const settings::LocalConf& conf) {
  return ParseStandaloneConfig(conf).issues;
}

}  // namespace fleetbond::daemon
