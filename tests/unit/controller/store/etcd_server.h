// etcd_server.h
//
// EtcdServer runs a real etcd (Debian's etcd-server, /usr/bin/etcd; $FB_ETCD overrides) for the
// tests of EtcdStore and its friends: one member on free loopback ports, its data in a temporary
// directory (under /dev/shm when there is one, so fsyncs are cheap), stopped and removed with the
// object. KillHard and Restart play a crashed and restarted etcd on the same data.
//
// Without the binary, Start fails with a reason the tests print with GTEST_SKIP.
//
// Example:
//   EtcdServer etcd;
//   if (absl::Status s = etcd.Start(); !s.ok()) GTEST_SKIP() << s.message();
//   EtcdOptions options;
//   options.endpoints = {etcd.endpoint()};
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/store/etcd_client.h"

namespace fleetbond::controller {

class EtcdServer {
 public:
  EtcdServer() = default;
  ~EtcdServer() {
    Stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Binary returns the etcd executable, "" when there is none.
  static std::string Binary() {
    if (const char* env = getenv("FB_ETCD"); env != nullptr && *env != '\0') return env;
    for (const char* path : {"/usr/bin/etcd", "/usr/local/bin/etcd"}) {
      if (access(path, X_OK) == 0) return path;
    }
    return "";
  }

  // Start starts etcd and waits (up to 20 s) until it answers.
  absl::Status Start() {
    binary_ = Binary();
    if (binary_.empty()) {
      return absl::FailedPreconditionError(
          "no etcd binary (install Debian's etcd-server: scripts/setup.sh --test, or set "
          "FB_ETCD)");
    }
    const std::string base =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm/" : ::testing::TempDir();
    std::string pattern = base + "fb_etcd_test.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", pattern, " failed"));
    }
    dir_ = pattern;
    client_port_ = FreePort();
    peer_port_ = FreePort();
    if (client_port_ == 0 || peer_port_ == 0) return absl::InternalError("no free port");
    return Launch();
  }

  // KillHard kills etcd with SIGKILL (a crash); Restart starts it again on the same data and
  // ports.
  void KillHard() { Signal(SIGKILL); }
  absl::Status Restart() {
    Stop();
    return Launch();
  }
  // Stop ends etcd gracefully (SIGTERM) if it runs.
  void Stop() { Signal(SIGTERM); }

  std::string endpoint() const { return absl::StrCat("127.0.0.1:", client_port_); }
  const std::string& dir() const { return dir_; }

 private:
  static int FreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  void Signal(int signal) {
    if (pid_ <= 0) return;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  absl::Status Launch() {
    const std::string client = absl::StrCat("http://127.0.0.1:", client_port_);
    const std::string peer = absl::StrCat("http://127.0.0.1:", peer_port_);
    std::vector<std::string> args = {binary_,
                                     "--name=fbtest",
                                     "--data-dir=" + dir_ + "/data",
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=fbtest=" + peer,
                                     "--logger=zap",
                                     "--log-level=warn"};
    const std::string log = dir_ + "/etcd.log";
    pid_ = fork();
    if (pid_ < 0) return absl::InternalError("fork failed");
    if (pid_ == 0) {
      // A test binary that is killed takes its etcd with it.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    EtcdOptions options;
    options.endpoints = {endpoint()};
    options.call_timeout = absl::Seconds(1);
    absl::StatusOr<std::unique_ptr<EtcdClient>> probe = EtcdClient::Create(options);
    if (!probe.ok()) return probe.status();
    absl::Status status = (*probe)->WaitReachable(absl::Seconds(20), nullptr);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("etcd did not come up (see ", log, "): ", status.message()));
    }
    return absl::OkStatus();
  }

  std::string binary_;
  std::string dir_;
  int client_port_ = 0;
  int peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace fleetbond::controller

namespace fleetbond::controller {

// SharedEtcd is one etcd for the whole test binary, started on first use and stopped at exit.
// Tests that share it keep apart by using a key prefix of their own (UniqueEtcdPrefix). Returns
// nullptr, with the reason in `why_not`, when etcd cannot run here.
inline EtcdServer* SharedEtcd(std::string* why_not) {
  static EtcdServer* server = nullptr;
  static std::string* failure = nullptr;
  static bool tried = false;
  if (!tried) {
    tried = true;
    static EtcdServer instance;
    absl::Status status = instance.Start();
    if (status.ok()) {
      server = &instance;
    } else {
      failure = new std::string(status.message());
    }
  }
  if (server == nullptr && why_not != nullptr) *why_not = *failure;
  return server;
}

// UniqueEtcdPrefix returns a key prefix no other test of this binary uses.
inline std::string UniqueEtcdPrefix() {
  static int next = 0;
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  return absl::StrCat("/fbtest/", getpid(), "/", next++, "-", test ? test->name() : "", "/");
}

}  // namespace fleetbond::controller
