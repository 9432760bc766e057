#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node/daemon/standalone_config.h"

namespace fleetbond::daemon {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

StaticPeer Peer(uint64_t id, uint8_t key, std::string overlay, std::vector<std::string> endpoints) {
  StaticPeer p;
  p.id = NodeId(id);
  p.public_key.fill(key);
  p.overlay_address = std::move(overlay);
  p.endpoints = std::move(endpoints);
  return p;
}

TEST(DirectoryChangeTest, SameDirectoryIsNoChange) {
  StandaloneConfig a{.overlay = "10.147.0.1/24",
                     .peers = {Peer(1, 1, "10.147.0.2", {"10.201.0.2/9800"})}};
  EXPECT_TRUE(DiffDirectory(a, a).empty());
}

TEST(DirectoryChangeTest, EmptyToFullAddsEveryPeerAndTheOverlay) {
  StandaloneConfig to{.overlay = "10.147.0.1/24",
                      .peers = {Peer(2, 2, "10.147.0.3", {"10.201.0.3/9800"}),
                                Peer(1, 1, "10.147.0.2", {"10.201.0.2/9800"})}};
  DirectoryChange c = DiffDirectory({}, to);
  EXPECT_TRUE(c.overlay_changed);
  EXPECT_THAT(c.added,
              ElementsAre(Field(&StaticPeer::id, NodeId(1)), Field(&StaticPeer::id, NodeId(2))));
  EXPECT_THAT(c.removed, IsEmpty());
}

TEST(DirectoryChangeTest, SortsPeersIntoRemovedAddedReplacedAndMoved) {
  StandaloneConfig from{.overlay = "10.147.0.1/24",
                        .peers = {Peer(1, 1, "10.147.0.2", {"10.201.0.2/9800"}),
                                  Peer(2, 2, "10.147.0.3", {"10.201.0.3/9800"}),
                                  Peer(3, 3, "10.147.0.4", {"10.201.0.4/9800"}),
                                  Peer(4, 4, "10.147.0.5", {"10.201.0.5/9800"})}};
  StandaloneConfig to{.overlay = "10.147.0.1/24",
                      .peers = {Peer(2, 9, "10.147.0.3", {"10.201.0.3/9800"}),    // new key
                                Peer(3, 3, "10.147.0.4", {"10.202.0.4/9800"}),    // moved
                                Peer(4, 4, "10.147.0.9", {"10.201.0.5/9800"}),    // new overlay
                                Peer(5, 5, "10.147.0.6", {"10.201.0.6/9800"})}};  // new
  DirectoryChange c = DiffDirectory(from, to);
  EXPECT_FALSE(c.overlay_changed);
  EXPECT_THAT(c.removed, ElementsAre(NodeId(1)));
  EXPECT_THAT(c.added, ElementsAre(Field(&StaticPeer::id, NodeId(5))));
  EXPECT_THAT(c.replaced,
              ElementsAre(Field(&StaticPeer::id, NodeId(2)), Field(&StaticPeer::id, NodeId(4))));
  EXPECT_THAT(c.moved, ElementsAre(Field(&StaticPeer::endpoints, ElementsAre("10.202.0.4/9800"))));
}

TEST(DirectoryChangeTest, EverythingGoneRemovesEveryPeer) {
  StandaloneConfig from{.overlay = "10.147.0.1/24",
                        .peers = {Peer(1, 1, "10.147.0.2", {"10.201.0.2/9800"})}};
  DirectoryChange c = DiffDirectory(from, {});
  EXPECT_TRUE(c.overlay_changed);
  EXPECT_THAT(c.removed, ElementsAre(NodeId(1)));
  EXPECT_FALSE(c.empty());
}

}  // namespace
}  // namespace fleetbond::daemon
