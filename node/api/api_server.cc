#include "node/api/api_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace fleetbond::api {
namespace {

constexpr absl::string_view kUnixPrefix = "unix:";

}  // namespace

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    const std::string& address, const std::vector<grpc::Service*>& services) {
  std::string socket_path;
  if (absl::StartsWith(address, kUnixPrefix)) {
    socket_path = address.substr(kUnixPrefix.size());
    if (socket_path.empty() || socket_path[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("--api ", address, ": a unix socket needs an absolute path (unix:/PATH)"));
    }
    struct stat st;
    if (lstat(socket_path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "--api ", address, ": ", socket_path, " exists and is not a socket; not replacing it"));
      }
      unlink(socket_path.c_str());  // left by a run that did not stop cleanly
    }
  } else if (address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--api ", address, ": expected HOST:PORT or unix:/PATH"));
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  for (grpc::Service* s : services) builder.RegisterService(s);
  // The socket is created inside BuildAndStart: a umask keeps it private from its first moment
  // (a chmod afterwards would leave a window). Nothing else creates files while the node starts.
  const mode_t old_mask = socket_path.empty() ? 0 : umask(0177);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!socket_path.empty()) {
    umask(old_mask);
    if (server != nullptr && chmod(socket_path.c_str(), 0600) != 0) {
      const int err = errno;
      server->Shutdown();
      return absl::FailedPreconditionError(
          absl::StrCat("--api ", address, ": cannot make the socket private: ", strerror(err)));
    }
  }
  if (server == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", address, " for the API (in use, or not an address of this host?)"));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(true);
  return std::unique_ptr<ApiServer>(new ApiServer(address, std::move(server), socket_path));
}

ApiServer::~ApiServer() { Shutdown(); }

void ApiServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  if (!socket_path_.empty()) unlink(socket_path_.c_str());
}

}  // namespace fleetbond::api
