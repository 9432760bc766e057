#include "node/agent/controller_rotation.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace fleetbond::agent {
namespace {

bool IsIpv6Literal(const std::string& host) {
  in6_addr a;
  return inet_pton(AF_INET6, host.c_str(), &a) == 1;
}

bool IsIpLiteral(const std::string& host) {
  in_addr a;
  return inet_pton(AF_INET, host.c_str(), &a) == 1 || IsIpv6Literal(host);
}

}  // namespace

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  HostPort out;
  absl::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\" is not [IPv6]:PORT (e.g. [fd00::1]:9900)"));
    }
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    if (!IsIpv6Literal(out.host)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", out.host, "\" in \"", text, "\" is not an IPv6 address"));
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\" is not HOST:PORT (e.g. controller.example:9900)"));
    }
    if (text.substr(0, colon).find(':') != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\": write an IPv6 address in brackets, [fd00::1]:9900"));
    }
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (!absl::SimpleAtoi(port, &out.port) || out.port < 1 || out.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\": the port must be a number from 1 to 65535"));
  }
  return out;
}

absl::StatusOr<std::vector<HostPort>> ParseControllerList(absl::string_view text) {
  std::vector<HostPort> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    if (absl::StripAsciiWhitespace(part).empty()) continue;
    absl::StatusOr<HostPort> hp = ParseHostPort(part);
    if (!hp.ok())
      return absl::InvalidArgumentError(absl::StrCat("--controller: ", hp.status().message()));
    if (std::find(out.begin(), out.end(), *hp) == out.end()) out.push_back(*std::move(hp));
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("--controller: no HOST:PORT given");
  }
  return out;
}

SystemResolver& SystemResolver::Get() {
  static auto* resolver = new SystemResolver;
  return *resolver;
}

absl::StatusOr<std::vector<std::string>> SystemResolver::Resolve(const std::string& host) {
  if (IsIpLiteral(host)) return std::vector<std::string>{host};
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc)));
  }
  std::vector<std::string> out;
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* addr = nullptr;
    if (a->ai_family == AF_INET) {
      addr = &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr;
    } else if (a->ai_family == AF_INET6) {
      addr = &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
    } else {
      continue;
    }
    if (inet_ntop(a->ai_family, addr, text, sizeof(text)) == nullptr) continue;
    if (std::find(out.begin(), out.end(), text) == out.end()) out.emplace_back(text);
  }
  freeaddrinfo(list);
  if (out.empty()) return absl::NotFoundError(absl::StrCat(host, " has no IP address"));
  return out;
}

ControllerRotation::ControllerRotation(std::vector<HostPort> controllers, Resolver& resolver,
                                       BackoffPolicy backoff, absl::BitGenRef gen)
    : controllers_(std::move(controllers)),
      resolver_(resolver),
      backoff_(backoff),
      start_draw_(absl::Uniform<uint64_t>(gen)) {}

absl::StatusOr<std::vector<DialTarget>> ControllerRotation::Expand(const HostPort& entry) {
  absl::StatusOr<std::vector<std::string>> ips = resolver_.Resolve(entry.host);
  if (!ips.ok()) return ips.status();
  const bool literal = IsIpLiteral(entry.host);
  std::vector<DialTarget> out;
  for (const std::string& ip : *ips) {
    const bool v6 = ip.find(':') != std::string::npos;
    const std::string address =
        v6 ? absl::StrCat("[", ip, "]:", entry.port) : absl::StrCat(ip, ":", entry.port);
    DialTarget t;
    t.target = absl::StrCat(v6 ? "ipv6:" : "ipv4:", address);
    t.authority = entry.host;
    t.display = literal ? entry.ToString() : absl::StrCat(entry.ToString(), " (", ip, ")");
    out.push_back(std::move(t));
  }
  return out;
}

absl::Status ControllerRotation::Resolve() {
  std::vector<DialTarget> all;
  std::vector<std::string> errors;
  for (const HostPort& entry : controllers_) {
    absl::StatusOr<std::vector<DialTarget>> targets = Expand(entry);
    if (!targets.ok()) {
      errors.emplace_back(targets.status().message());
      continue;
    }
    for (DialTarget& t : *targets) {
      auto same = [&](const DialTarget& d) { return d.target == t.target; };
      if (std::none_of(all.begin(), all.end(), same)) all.push_back(std::move(t));
    }
  }
  if (all.empty()) {
    return absl::UnavailableError(
        absl::StrCat("no controller address resolves: ", absl::StrJoin(errors, "; ")));
  }
  if (!resolved_) {
    position_ = start_draw_ % all.size();  // the random start, once
  } else {
    position_ %= all.size();
  }
  addresses_ = std::move(all);
  resolved_ = true;
  visited_ = 0;
  return absl::OkStatus();
}

absl::StatusOr<DialTarget> ControllerRotation::Next() {
  at_redirect_ = false;
  if (redirect_.has_value()) {
    at_redirect_ = true;
    return *redirect_;
  }
  if (!resolved_ || visited_ >= addresses_.size()) {
    absl::Status resolved = Resolve();
    // A failed re-resolution keeps the last good list rather than stopping the node.
    if (!resolved.ok() && addresses_.empty()) return resolved;
    visited_ = 0;
  }
  return addresses_[position_];
}

absl::Duration ControllerRotation::Done(Outcome outcome, const std::optional<std::string>& redirect,
                                        absl::BitGenRef gen) {
  if (at_redirect_) {
    // The redirect was tried once; the walk goes on where it was.
    redirect_.reset();
    at_redirect_ = false;
  } else if (!addresses_.empty()) {
    position_ = (position_ + 1) % addresses_.size();
    ++visited_;
  }
  if (redirect.has_value()) {
    absl::StatusOr<HostPort> hp = ParseHostPort(*redirect);
    absl::StatusOr<std::vector<DialTarget>> targets =
        hp.ok() ? Expand(*hp) : absl::StatusOr<std::vector<DialTarget>>(hp.status());
    if (targets.ok() && !targets->empty()) {
      redirect_ = targets->front();
      // Being sent elsewhere is no failure; the short jitter still spreads a drained replica's
      // nodes over half a second.
      attempt_ = 0;
      return ReconnectDelay(backoff_, 0, gen);
    }
  }
  if (outcome == Outcome::kSessionWorked) attempt_ = 0;
  const absl::Duration wait = ReconnectDelay(backoff_, attempt_, gen);
  if (attempt_ < 62) ++attempt_;
  return wait;
}

}  // namespace fleetbond::agent
