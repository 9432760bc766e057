// controller_rotation.h
//
// Which controller replica the agent dials next, and how long it waits first. A node may be
// given several controllers (`--controller a:9900,b:9900,c:9900`), and each name may resolve to
// several addresses; ControllerRotation turns them into one list of concrete addresses and walks
// it:
//   - the first dial goes to a random address of the list, so a fleet spreads over the replicas;
//   - after every failed dial or ended session the next dial goes to the next address, so one dead
//     replica is never hammered while others answer;
//   - the names are resolved again each time the walk has visited every address once, so a DNS
//     name's changed addresses are picked up;
//   - a controller that ends the session with a redirect hint (a draining replica,
//     docs/agent.md "Several controllers") is dialed next, once, before the walk goes on.
// The wait before each dial is the full-jitter backoff of backoff.h. It starts over after a
// session that acked a push (a working session) and after a redirect, which is no failure.
//
// Each address gets a channel of its own (per-address channels, not gRPC's own resolver and
// pick_first), so the agent, not gRPC, decides the order and the pace, and a redirect can name an
// exact replica. TLS still checks the controller's certificate for the name the operator gave
// (`authority`), not for the address it resolved to.
//
// Example:
//   ControllerRotation rotation(*ParseControllerList("a:9900,ctl.example:9900"),
//                               SystemResolver::Get(), BackoffPolicy{}, gen);
//   while (running) {
//     absl::StatusOr<DialTarget> target = rotation.Next();
//     ... dial, run a session ...
//     absl::Duration wait = rotation.Done(outcome, redirect_hint, gen);
//   }
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/agent/backoff.h"

namespace fleetbond::agent {

// HostPort is one `--controller` entry: a DNS name or an IP address literal, and a port.
struct HostPort {
  std::string host;  // without brackets, also for IPv6
  int port = 0;
  std::string ToString() const;  // "ctl.example:9900", "[::1]:9900"
  bool operator==(const HostPort&) const = default;
};

// ParseHostPort parses "host:port" or "[v6]:port" (port 1-65535).
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text);

// ParseControllerList parses a comma-separated list of HostPort ("a:9900, b:9900"); at least one.
absl::StatusOr<std::vector<HostPort>> ParseControllerList(absl::string_view text);

// DialTarget is one concrete address to dial.
struct DialTarget {
  std::string target;     // gRPC target: "ipv4:10.0.0.1:9900", "ipv6:[::1]:9900"
  std::string authority;  // the name the controller's certificate must carry: the given host
  std::string display;    // for logs: "ctl.example:9900 (10.0.0.1)", or "10.0.0.1:9900"
  bool operator==(const DialTarget&) const = default;
};

// Resolver turns a host into IP address literals. SystemResolver uses getaddrinfo; tests give a
// fake.
class Resolver {
 public:
  virtual ~Resolver() = default;
  // Resolve returns the host's addresses (an IP literal resolves to itself), in the order to try
  // them; NotFound or Unavailable when it has none.
  virtual absl::StatusOr<std::vector<std::string>> Resolve(const std::string& host) = 0;
};

class SystemResolver : public Resolver {
 public:
  static SystemResolver& Get();
  absl::StatusOr<std::vector<std::string>> Resolve(const std::string& host) override;
};

class ControllerRotation {
 public:
  // How the last attempt ended.
  enum class Outcome {
    kDialFailed,    // no connection (refused, silent, TLS refused)
    kSessionEnded,  // a session ran but acked no push (refused at Hello, cut off early)
    kSessionWorked  // a session acked a push: the backoff starts over
  };

  // `gen` draws the random start; it is used in the constructor only.
  ControllerRotation(std::vector<HostPort> controllers, Resolver& resolver, BackoffPolicy backoff,
                     absl::BitGenRef gen);

  // Next returns the address to dial now: a pending redirect, else the walk's current address.
  // Unavailable (with every resolver error) when no name resolves; that counts as a failed dial.
  absl::StatusOr<DialTarget> Next();

  // Done records how the attempt at Next's address ended, moves the walk on, and returns how long
  // to wait before the next dial. `redirect` ("host:port", from the controller that ended the
  // session) is dialed next; an unparsable or unresolvable one is ignored with the walk going on.
  absl::Duration Done(Outcome outcome, const std::optional<std::string>& redirect,
                      absl::BitGenRef gen);

  // attempt is the backoff's failed-attempt count (0 after a working session).
  int attempt() const { return attempt_; }
  // addresses is the walk's current list (resolved at the first Next and after each full pass).
  const std::vector<DialTarget>& addresses() const { return addresses_; }

 private:
  absl::Status Resolve();
  absl::StatusOr<std::vector<DialTarget>> Expand(const HostPort& entry);

  const std::vector<HostPort> controllers_;
  Resolver& resolver_;
  const BackoffPolicy backoff_;
  uint64_t start_draw_;  // random number for the first pass's start

  std::vector<DialTarget> addresses_;
  bool resolved_ = false;
  size_t position_ = 0;
  size_t visited_ = 0;  // addresses visited since the last resolution
  std::optional<DialTarget> redirect_;
  bool at_redirect_ = false;  // the last Next returned the redirect
  int attempt_ = 0;
};

}  // namespace fleetbond::agent
