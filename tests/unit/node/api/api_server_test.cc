#include "node/api/api_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/api/node_service.h"
#include "tests/unit/node/api/fake_backend.h"

namespace fleetbond::api {
namespace {

TEST(ApiServer, UnixSocketIsPrivateToItsOwnerAndServesTheApi) {
  char dir[] = "/tmp/fb-api-test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/api.sock";
  FakeBackend backend;
  NodeServiceImpl service(backend, NodeFacts{.id = "1111111111"}, settings::Source::kLocalConf, {});
  absl::StatusOr<std::unique_ptr<ApiServer>> server = ApiServer::Start("unix:" + path, {&service});
  ASSERT_TRUE(server.ok()) << server.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto channel = grpc::CreateChannel("unix:" + path, grpc::InsecureChannelCredentials());
  v1::Node::Stub stub(channel);
  grpc::ClientContext ctx;
  v1::GetInfoRequest request;
  v1::NodeInfo info;
  ASSERT_TRUE(stub.GetInfo(&ctx, request, &info).ok());
  EXPECT_EQ(info.id(), "1111111111");

  (*server)->Shutdown();
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "the socket file is removed at shutdown";
  rmdir(dir);
}

TEST(ApiServer, RefusesAMalformedAddress) {
  FakeBackend backend;
  NodeServiceImpl service(backend, NodeFacts{}, settings::Source::kLocalConf, {});
  EXPECT_EQ(ApiServer::Start("unix:relative.sock", {&service}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApiServer::Start("nonsense", {&service}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ApiServer, RefusesToReplaceAFileThatIsNotASocket) {
  char dir[] = "/tmp/fb-api-test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/not-a-socket";
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  FakeBackend backend;
  NodeServiceImpl service(backend, NodeFacts{}, settings::Source::kLocalConf, {});
  EXPECT_EQ(ApiServer::Start("unix:" + path, {&service}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace fleetbond::api
