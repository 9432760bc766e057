#include "node/daemon/privilege.h"

#include <linux/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace fleetbond::daemon {
namespace {

constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }

// InChild runs `body` in a forked child (DropPrivileges changes the whole process for good) and
// returns its exit code; the body returns 0 for success and a small number saying what failed.
int InChild(const std::function<int()>& body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

std::string StatusField(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      const size_t start = line.find_first_not_of(" \t", key.size() + 1);
      return start == std::string::npos ? "" : line.substr(start);
    }
  }
  return "";
}

uint64_t StatusMask(const std::string& key) { return std::stoull(StatusField(key), nullptr, 16); }

TEST(KeptCapabilities, AlwaysNetAdminAndBindServiceOnlyWhenAsked) {
  EXPECT_TRUE(KeptCapabilities({}) & Bit(CAP_NET_ADMIN));
  EXPECT_FALSE(KeptCapabilities({}) & Bit(CAP_NET_BIND_SERVICE));
  EXPECT_TRUE(KeptCapabilities({.bind_privileged_port = true}) & Bit(CAP_NET_BIND_SERVICE));
  EXPECT_FALSE(KeptCapabilities({}) & Bit(CAP_SYS_ADMIN));
}

TEST(DropPrivileges, LeavesOnlyTheKeptCapabilitiesAndSetsNoNewPrivs) {
  const int code = InChild([] {
    const uint64_t permitted = StatusMask("CapPrm");
    absl::StatusOr<DroppedPrivileges> dropped = DropPrivileges({});
    if (!dropped.ok()) return 1;
    const uint64_t want = KeptCapabilities({}) & permitted;
    if (dropped->kept != want) return 2;
    if (StatusMask("CapEff") != want || StatusMask("CapPrm") != want) return 3;
    if (StatusMask("CapInh") != 0 || StatusMask("CapAmb") != 0) return 4;
    if (StatusField("NoNewPrivs") != "1") return 5;
    // Root may shrink the bounding set; then nothing outside `want` is left in it.
    if (dropped->bounding_reduced && (StatusMask("CapBnd") & ~KeptCapabilities({})) != 0) return 6;
    if (dropped->uid != getuid()) return 7;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(DropPrivileges, RefusesOnceAThreadRuns) {
  const int code = InChild([] {
    absl::Notification done;
    std::thread other([&] { done.WaitForNotification(); });
    absl::StatusOr<DroppedPrivileges> dropped = DropPrivileges({});
    done.Notify();
    other.join();
    if (dropped.ok()) return 1;
    if (dropped.status().code() != absl::StatusCode::kFailedPrecondition) return 2;
    if (dropped.status().message().find("2 threads") == std::string::npos) return 3;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(DropPrivileges, UnknownUserIsNotFound) {
  const int code = InChild([] {
    absl::StatusOr<DroppedPrivileges> dropped =
        DropPrivileges({.user = "no-such-user-fleetbond-test"});
    if (dropped.ok()) return 1;
    return dropped.status().code() == absl::StatusCode::kNotFound ? 0 : 2;
  });
  EXPECT_EQ(code, 0);
}

TEST(DroppedPrivileges, DescribeNamesWhatIsKept) {
  DroppedPrivileges d{.kept = Bit(CAP_NET_ADMIN), .bounding_reduced = true, .uid = 998, .gid = 997};
  EXPECT_EQ(d.Describe(), "capabilities cap_net_admin, uid 998, gid 997");
  d.kept = 0;
  d.bounding_reduced = false;
  EXPECT_EQ(d.Describe(),
            "capabilities none (bounding set unchanged: no CAP_SETPCAP), uid 998, gid 997");
}

}  // namespace
}  // namespace fleetbond::daemon
