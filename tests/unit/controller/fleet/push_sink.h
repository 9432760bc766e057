// push_sink.h: PushSink, a node session's sink for Fleet tests that keeps the pushes sent to it
// (commands and closes are dropped). Safe from any thread.
#pragma once

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "controller/fleet/fleet.h"
#include "fleetbond/v1/session.pb.h"

namespace fleetbond::controller {

class PushSink : public SessionSink {
 public:
  void Send(const v1::ControllerMessage& m) override {
    absl::MutexLock lock(&mu_);
    if (m.has_push()) pushes_.push_back(m.push());
  }
  void Close(const absl::Status&) override {}
  // TakePushes returns the pushes sent since the last call.
  std::vector<v1::ConfigPush> TakePushes() {
    absl::MutexLock lock(&mu_);
    return std::move(pushes_);
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::ConfigPush> pushes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fleetbond::controller
