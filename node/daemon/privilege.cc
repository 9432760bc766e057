#include "node/daemon/privilege.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace fleetbond::daemon {
namespace {

constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }

// The raw system calls: glibc has no wrappers, and libcap is not a dependency of the node.
struct CapSets {
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
};

absl::StatusOr<CapSets> GetCaps() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return absl::ErrnoToStatus(errno, "capget");
  CapSets sets;
  sets.effective = data[0].effective | (uint64_t{data[1].effective} << 32);
  sets.permitted = data[0].permitted | (uint64_t{data[1].permitted} << 32);
  sets.inheritable = data[0].inheritable | (uint64_t{data[1].inheritable} << 32);
  return sets;
}

absl::Status SetCaps(const CapSets& sets) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  data[0].effective = static_cast<uint32_t>(sets.effective);
  data[1].effective = static_cast<uint32_t>(sets.effective >> 32);
  data[0].permitted = static_cast<uint32_t>(sets.permitted);
  data[1].permitted = static_cast<uint32_t>(sets.permitted >> 32);
  data[0].inheritable = static_cast<uint32_t>(sets.inheritable);
  data[1].inheritable = static_cast<uint32_t>(sets.inheritable >> 32);
  if (syscall(SYS_capset, &header, data) != 0) return absl::ErrnoToStatus(errno, "capset");
  return absl::OkStatus();
}

// ThreadCount reads "Threads:" of /proc/self/status (0 when it cannot be read).
int ThreadCount() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) {
      int n = 0;
      return absl::SimpleAtoi(line.substr(8), &n) ? n : 0;
    }
  }
  return 0;
}

// LastCap is the kernel's highest capability number.
int LastCap() {
  std::ifstream f("/proc/sys/kernel/cap_last_cap");
  int last = 0;
  if (f >> last && last >= CAP_NET_ADMIN && last < 64) return last;
  return CAP_LAST_CAP;
}

// KernelBefore says whether the running kernel is older than major.minor.
bool KernelBefore(int major, int minor) {
  utsname u{};
  if (uname(&u) != 0) return false;
  int a = 0, b = 0;
  if (std::sscanf(u.release, "%d.%d", &a, &b) != 2) return false;
  return a < major || (a == major && b < minor);
}

struct Account {
  uid_t uid;
  gid_t gid;
};

absl::StatusOr<Account> LookUp(const std::string& user) {
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found);
  uint32_t numeric = 0;
  if (found == nullptr && absl::SimpleAtoi(user, &numeric)) {
    rc = getpwuid_r(numeric, &pw, buffer.data(), buffer.size(), &found);
  }
  if (found == nullptr) {
    if (rc != 0) return absl::ErrnoToStatus(rc, absl::StrCat("looking up user \"", user, "\""));
    return absl::NotFoundError(absl::StrCat("--user: no user \"", user, "\" on this host"));
  }
  return Account{found->pw_uid, found->pw_gid};
}

std::string CapName(int cap) {
  switch (cap) {
    case CAP_NET_ADMIN:
      return "cap_net_admin";
    case CAP_NET_RAW:
      return "cap_net_raw";
    case CAP_NET_BIND_SERVICE:
      return "cap_net_bind_service";
    default:
      return absl::StrCat("cap_", cap);
  }
}

}  // namespace

std::string DroppedPrivileges::Describe() const {
  std::vector<std::string> names;
  for (int cap = 0; cap < 64; ++cap) {
    if (kept & Bit(cap)) names.push_back(CapName(cap));
  }
  return absl::StrFormat(
      "capabilities %s%s, uid %d, gid %d", names.empty() ? "none" : absl::StrJoin(names, " "),
      bounding_reduced ? "" : " (bounding set unchanged: no CAP_SETPCAP)", uid, gid);
}

uint64_t KeptCapabilities(const PrivilegeOptions& options) {
  uint64_t kept = Bit(CAP_NET_ADMIN);
  if (options.bind_privileged_port) kept |= Bit(CAP_NET_BIND_SERVICE);
  // Before Linux 5.7 SO_BINDTODEVICE asked for CAP_NET_RAW even on an unbound socket.
  if (KernelBefore(5, 7)) kept |= Bit(CAP_NET_RAW);
  return kept;
}

absl::StatusOr<DroppedPrivileges> DropPrivileges(const PrivilegeOptions& options) {
  if (const int threads = ThreadCount(); threads != 1) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot drop privileges: the process has %d threads (capabilities are per thread, so "
        "this must happen before any thread starts)",
        threads));
  }
  absl::StatusOr<CapSets> before = GetCaps();
  if (!before.ok()) return before.status();
  // What is not permitted now cannot be kept.
  const uint64_t kept = KeptCapabilities(options) & before->permitted;

  DroppedPrivileges result;
  result.uid = getuid();
  result.gid = getgid();
  std::optional<Account> account;
  if (!options.user.empty()) {
    absl::StatusOr<Account> found = LookUp(options.user);
    if (!found.ok()) return found.status();
    account = *found;
  }

  // The bounding set first: dropping from it needs CAP_SETPCAP, which goes next.
  result.bounding_reduced = true;
  for (int cap = 0; cap <= LastCap(); ++cap) {
    if (kept & Bit(cap)) continue;
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno != EPERM) return absl::ErrnoToStatus(errno, "PR_CAPBSET_DROP");
      result.bounding_reduced = false;  // not ours to change (no CAP_SETPCAP): systemd's job
    }
  }

  if (account.has_value()) {
    // Permitted capabilities survive the uid change only with KEEPCAPS; effective ones are
    // cleared by it and restored below.
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
      return absl::ErrnoToStatus(errno, "PR_SET_KEEPCAPS");
    }
    const gid_t groups[] = {account->gid};
    if (setgroups(1, groups) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("--user ", options.user,
                       ": cannot set the groups (needs CAP_SETGID): ", std::strerror(errno)));
    }
    if (setresgid(account->gid, account->gid, account->gid) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("--user ", options.user, ": setresgid: ", std::strerror(errno)));
    }
    if (setresuid(account->uid, account->uid, account->uid) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("--user ", options.user, ": setresuid: ", std::strerror(errno)));
    }
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    result.uid = account->uid;
    result.gid = account->gid;
  }

  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return absl::ErrnoToStatus(errno, "PR_CAP_AMBIENT_CLEAR_ALL");
  }
  if (absl::Status set = SetCaps({.effective = kept, .permitted = kept, .inheritable = 0});
      !set.ok()) {
    return set;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return absl::ErrnoToStatus(errno, "PR_SET_NO_NEW_PRIVS");
  }

  // The kernel clears "dumpable" on a uid change, which hands /proc/PID to root and stops
  // LeakSanitizer's tracer in sanitizer builds. Restoring it exposes nothing: ptrace and
  // /proc/PID/mem still demand every capability the node holds, which the user alone lacks.
  if (account.has_value()) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);

  absl::StatusOr<CapSets> after = GetCaps();
  if (!after.ok()) return after.status();
  if (after->effective != kept || after->permitted != kept || after->inheritable != 0) {
    return absl::InternalError(
        absl::StrFormat("capabilities after the drop are effective %#x, permitted %#x, not %#x",
                        after->effective, after->permitted, kept));
  }
  result.kept = kept;
  return result;
}

}  // namespace fleetbond::daemon
