#include "controller/store/etcd_session.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace fleetbond::controller {

absl::StatusOr<std::unique_ptr<EtcdSession>> EtcdSession::Create(EtcdClient& etcd,
                                                                 absl::Duration ttl) {
  ttl = std::max(absl::Seconds(2), absl::Trunc(ttl, absl::Seconds(1)));
  const absl::Time asked = absl::Now();
  absl::StatusOr<int64_t> lease = etcd.LeaseGrant(absl::ToInt64Seconds(ttl));
  if (!lease.ok()) return lease.status();
  std::unique_ptr<EtcdSession> session(new EtcdSession(etcd, ttl, *lease));
  {
    absl::MutexLock lock(&session->mu_);
    session->renewed_ = asked;
  }
  session->thread_ = std::thread([s = session.get()] { s->Run(); });
  return session;
}

EtcdSession::EtcdSession(EtcdClient& etcd, absl::Duration ttl, int64_t lease)
    : etcd_(etcd), ttl_(ttl), lease_(lease) {}

EtcdSession::~EtcdSession() { Close(); }

int64_t EtcdSession::lease() const {
  absl::MutexLock lock(&mu_);
  return lease_;
}

bool EtcdSession::Alive() const {
  absl::MutexLock lock(&mu_);
  return !closed_ && absl::Now() < renewed_ + ttl_;
}

void EtcdSession::OnNewLease(std::function<void(int64_t)> listener) {
  absl::MutexLock lock(&mu_);
  listeners_.push_back(std::move(listener));
}

void EtcdSession::StopThread() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void EtcdSession::Close() {
  StopThread();
  int64_t lease = 0;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    closed_ = true;
    lease = lease_;
  }
  (void)etcd_.LeaseRevoke(lease);
}

void EtcdSession::Abandon() {
  StopThread();
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

void EtcdSession::Run() {
  while (true) {
    int64_t lease = 0;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), ttl_ / 3);
      if (stop_) return;
      lease = lease_;
    }
    const absl::Time asked = absl::Now();
    absl::StatusOr<int64_t> kept = etcd_.LeaseKeepAliveOnce(lease);
    if (kept.ok()) {
      absl::MutexLock lock(&mu_);
      renewed_ = asked;
      continue;
    }
    if (!absl::IsNotFound(kept.status())) continue;  // etcd unreachable: try again soon
    // The lease is gone: whatever was under it was deleted. A new lease, and the listeners put
    // their keys again.
    absl::StatusOr<int64_t> fresh = etcd_.LeaseGrant(absl::ToInt64Seconds(ttl_));
    if (!fresh.ok()) continue;
    std::vector<std::function<void(int64_t)>> listeners;
    {
      absl::MutexLock lock(&mu_);
      lease_ = *fresh;
      renewed_ = asked;
      listeners = listeners_;
    }
    for (const auto& listener : listeners) listener(*fresh);
  }
}

}  // namespace fleetbond::controller
