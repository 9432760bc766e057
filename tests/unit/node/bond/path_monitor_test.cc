#include "node/bond/path_monitor.h"

#include "gtest/gtest.h"

namespace fleetbond::bond {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

PathMonitor::Config Config(int failover_ms, int up_ms = 0, int down_ms = 0, size_t window = 128) {
  return {.failover_interval = absl::Milliseconds(failover_ms),
          .up_delay = absl::Milliseconds(up_ms),
          .down_delay = absl::Milliseconds(down_ms),
          .window = window};
}

// Probes and answers every probe after `rtt` until `until`, ticking every `tick`.
void Drive(PathMonitor& m, absl::Time& now, absl::Time until, absl::Duration rtt,
           absl::Duration tick = absl::Milliseconds(10)) {
  while (now < until) {
    if (m.ProbeDue(now)) {
      uint32_t seq = m.StartProbe(now);
      m.OnProbeReply(seq, now + rtt);
    }
    m.Update(now);
    now += tick;
  }
}

TEST(PathMonitor, ProbeIntervalIsAQuarterOfFailoverIntervalClamped) {
  EXPECT_EQ(ProbeInterval(absl::Seconds(5)), absl::Milliseconds(1250));
  EXPECT_EQ(ProbeInterval(absl::Milliseconds(1000)), absl::Milliseconds(250));
  EXPECT_EQ(ProbeInterval(absl::Milliseconds(2)), absl::Milliseconds(1));
  EXPECT_EQ(ProbeInterval(absl::Hours(1)), absl::Seconds(10));
  EXPECT_EQ(MonitorTickInterval(absl::Seconds(5)), absl::Milliseconds(50));
  EXPECT_EQ(MonitorTickInterval(absl::Milliseconds(100)), absl::Milliseconds(25));
}

TEST(PathMonitor, NewPathIsUsableAtFirstReplyWithoutUpDelay) {
  PathMonitor m(Config(1000, /*up_ms=*/5000), kStart);
  EXPECT_FALSE(m.usable());
  uint32_t seq = m.StartProbe(kStart);
  EXPECT_TRUE(m.OnProbeReply(seq, kStart + absl::Milliseconds(5)));
  m.Update(kStart + absl::Milliseconds(5));
  EXPECT_TRUE(m.usable());
}

TEST(PathMonitor, ProbesLostBeforeThePeerWasFirstHeardDoNotCountAsLoss) {
  // The peer starts 3 s after us: the probes of those 3 s go unanswered.
  PathMonitor m(Config(500), kStart);
  absl::Time now = kStart;
  while (now < kStart + absl::Seconds(3)) {
    if (m.ProbeDue(now)) m.StartProbe(now);
    m.Update(now);
    now += absl::Milliseconds(10);
  }
  Drive(m, now, kStart + absl::Seconds(5), absl::Milliseconds(2));
  EXPECT_TRUE(m.usable());
  EXPECT_EQ(m.metrics().plr, 0.0);
}

TEST(PathMonitor, ProbesLostAfterThePeerWasHeardStillCountAsLoss) {
  PathMonitor m(Config(500), kStart);
  absl::Time now = kStart;
  Drive(m, now, kStart + absl::Seconds(2), absl::Milliseconds(2));
  // Now every other probe goes unanswered.
  bool answer = false;
  while (now < kStart + absl::Seconds(10)) {
    if (m.ProbeDue(now)) {
      uint32_t seq = m.StartProbe(now);
      if (answer) m.OnProbeReply(seq, now + absl::Milliseconds(2));
      answer = !answer;
    }
    m.Update(now);
    now += absl::Milliseconds(10);
  }
  EXPECT_GT(m.metrics().plr, 0.2);
}

TEST(PathMonitor, PathThatHeardNothingForFailoverIntervalFails) {
  PathMonitor m(Config(1000), kStart);
  absl::Time now = kStart;
  Drive(m, now, kStart + absl::Seconds(2), absl::Milliseconds(5));
  ASSERT_TRUE(m.usable());
  const absl::Duration since_rx = m.rx_age(now);
  // Silence from now on: usable until failoverInterval after the last packet heard.
  absl::Time last_rx = now - since_rx;
  for (; now < last_rx + absl::Milliseconds(1000); now += absl::Milliseconds(1)) {
    m.Update(now);
    ASSERT_TRUE(m.usable()) << now - last_rx;
  }
  m.Update(last_rx + absl::Milliseconds(1000));
  EXPECT_FALSE(m.usable());
  EXPECT_EQ(m.state(), PathState::kDown);
}

TEST(PathMonitor, AnyAuthenticatedTrafficKeepsThePathAlive) {
  PathMonitor m(Config(1000), kStart);
  absl::Time now = kStart;
  Drive(m, now, kStart + absl::Seconds(1), absl::Milliseconds(5));
  for (int i = 0; i < 100; ++i) {  // 5 s of data, no probe replies
    now += absl::Milliseconds(50);
    m.OnReceive(now, 100);
    m.Update(now);
  }
  EXPECT_TRUE(m.usable());
  EXPECT_EQ(m.rx_packets(), 100u);
}

TEST(PathMonitor, RecoveredPathWaitsUpDelay) {
  PathMonitor m(Config(1000, /*up_ms=*/3000), kStart);
  absl::Time now = kStart;
  Drive(m, now, kStart + absl::Seconds(1), absl::Milliseconds(5));
  ASSERT_TRUE(m.usable());
  now += absl::Seconds(2);  // silence
  m.Update(now);
  ASSERT_FALSE(m.usable());
  const absl::Time back = now;
  Drive(m, now, back + absl::Milliseconds(2900), absl::Milliseconds(5));
  EXPECT_EQ(m.state(), PathState::kGoingUp);
  EXPECT_FALSE(m.usable());
  Drive(m, now, back + absl::Milliseconds(3100), absl::Milliseconds(5));
  EXPECT_TRUE(m.usable());
}

TEST(PathMonitor, FailedPathKeepsItsRoleForDownDelay) {
  PathMonitor m(Config(1000, 0, /*down_ms=*/2000), kStart);
  absl::Time now = kStart;
  Drive(m, now, kStart + absl::Seconds(1), absl::Milliseconds(5));
  const absl::Time last_rx = now - m.rx_age(now);
  m.Update(last_rx + absl::Milliseconds(1000));
  EXPECT_EQ(m.state(), PathState::kGoingDown);
  EXPECT_TRUE(m.usable());
  m.Update(last_rx + absl::Milliseconds(2999));
  EXPECT_TRUE(m.usable());
  m.Update(last_rx + absl::Milliseconds(3000));
  EXPECT_FALSE(m.usable());
}

TEST(PathMonitor, CarrierLossFailsAtOnceDespiteDownDelay) {
  PathMonitor m(Config(1000, 0, /*down_ms=*/2000), kStart);
  absl::Time now = kStart;
  Drive(m, now, kStart + absl::Seconds(1), absl::Milliseconds(5));
  m.SetCarrier(false, now);
  EXPECT_FALSE(m.usable());
  // Carrier back: usable only once the peer is heard again.
  m.SetCarrier(true, now + absl::Milliseconds(10));
  m.Update(now + absl::Milliseconds(10));
  EXPECT_FALSE(m.usable());
  now += absl::Milliseconds(20);
  m.OnReceive(now, 100);
  m.Update(now);
  EXPECT_TRUE(m.usable());
}

TEST(PathMonitor, MeasuresMeanLatencyAndPdvAsStandardDeviation) {
  PathMonitor m(Config(1000, 0, 0, /*window=*/4), kStart);
  const int rtts[] = {10, 20, 30, 40};
  absl::Time now = kStart;
  for (int rtt : rtts) {
    uint32_t seq = m.StartProbe(now);
    ASSERT_TRUE(m.OnProbeReply(seq, now + absl::Milliseconds(rtt)));
    now += absl::Milliseconds(250);
  }
  EXPECT_DOUBLE_EQ(m.metrics().latency_ms, 25.0);
  EXPECT_NEAR(m.metrics().pdv_ms, 11.1803, 1e-3);  // sqrt(125)
  EXPECT_DOUBLE_EQ(m.metrics().plr, 0.0);
}

TEST(PathMonitor, UnansweredProbeCountsAsLostAfterFailoverInterval) {
  PathMonitor m(Config(1000, 0, 0, /*window=*/4), kStart);
  absl::Time now = kStart;
  // The peer answers first (a probe lost before it was ever heard would not count).
  uint32_t ok = m.StartProbe(now);
  ASSERT_TRUE(m.OnProbeReply(ok, now + absl::Milliseconds(5)));
  now += absl::Milliseconds(250);
  uint32_t lost = m.StartProbe(now);
  m.Update(now + absl::Milliseconds(999));
  EXPECT_DOUBLE_EQ(m.metrics().plr, 0.0);  // not decided yet
  m.Update(now + absl::Milliseconds(1000));
  EXPECT_DOUBLE_EQ(m.metrics().plr, 0.5);
  EXPECT_FALSE(m.OnProbeReply(lost, now + absl::Milliseconds(1001)));  // too late
  EXPECT_FALSE(m.OnProbeReply(ok, now + absl::Milliseconds(1001)));    // duplicate
  EXPECT_FALSE(m.OnProbeReply(9999, now + absl::Milliseconds(1001)));  // unknown
}

TEST(PathMonitor, ErrorRatioIsBadOverAllPacketsInTheWindow) {
  PathMonitor m(Config(1000, 0, 0, /*window=*/8), kStart);  // half window = 1 s
  absl::Time now = kStart;
  for (int i = 0; i < 90; ++i) m.OnReceive(now, 100);
  for (int i = 0; i < 10; ++i) m.OnBadPacket();
  m.Update(now);
  EXPECT_DOUBLE_EQ(m.metrics().per, 0.1);
  // Two half-windows later the old packets have left the window.
  m.Update(now + absl::Seconds(1));
  EXPECT_DOUBLE_EQ(m.metrics().per, 0.1);  // in the previous bucket
  m.Update(now + absl::Seconds(2));
  EXPECT_DOUBLE_EQ(m.metrics().per, 0.0);
}

}  // namespace
}  // namespace fleetbond::bond
