#include "controller/store/etcd_client.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "shared/status_macros.h"

namespace fleetbond::controller {
namespace {

// One attempt against one endpoint never waits longer than this, so a hung endpoint leaves time
// for the others within the call's deadline.
constexpr absl::Duration kAttemptTimeout = absl::Seconds(2);
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Milliseconds(500);

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrFormat("cannot read %s %s", what, path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status FromGrpc(absl::string_view method, const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat("etcd ", method, ": ", status.error_message()));
}

gpr_timespec ToDeadline(absl::Time t) {
  return gpr_time_from_millis(absl::ToUnixMillis(t), GPR_CLOCK_REALTIME);
}

}  // namespace

absl::StatusOr<EtcdOptions> ParseEtcdUrl(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "etcd://")) {
    return absl::InvalidArgumentError(
        absl::StrFormat("store \"%s\": an etcd store is \"etcd://HOST:PORT[,HOST:PORT...]\"", url));
  }
  EtcdOptions options;
  for (absl::string_view part : absl::StrSplit(rest, ',')) {
    part = absl::StripTrailingAsciiWhitespace(absl::StripLeadingAsciiWhitespace(part));
    absl::ConsumeSuffix(&part, "/");
    if (part.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("store \"%s\": an empty etcd endpoint", url));
    }
    std::string endpoint(part);
    // "host", "[v6]" and "v4:port"/"[v6]:port": add the client port when none is given.
    const size_t colon = endpoint.rfind(':');
    const size_t bracket = endpoint.rfind(']');
    if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) {
      absl::StrAppend(&endpoint, ":2379");
    } else {
      uint32_t port = 0;
      if (!absl::SimpleAtoi(endpoint.substr(colon + 1), &port) || port == 0 || port > 65535) {
        return absl::InvalidArgumentError(
            absl::StrFormat("store \"%s\": bad port in etcd endpoint \"%s\"", url, part));
      }
    }
    options.endpoints.push_back(std::move(endpoint));
  }
  return options;
}

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(EtcdOptions options) {
  if (options.endpoints.empty()) return absl::InvalidArgumentError("no etcd endpoints");
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "give both the etcd client certificate and its key, or "
        "neither");
  }
  if (options.ca_file.empty() && !options.cert_file.empty()) {
    return absl::InvalidArgumentError("an etcd client certificate needs the etcd CA too");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    FB_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(options.ca_file, "the etcd CA"));
    if (!options.cert_file.empty()) {
      FB_ASSIGN_OR_RETURN(ssl.pem_cert_chain,
                          ReadFile(options.cert_file, "the etcd client certificate"));
      FB_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadFile(options.key_file, "the etcd client key"));
    }
    credentials = grpc::SslCredentials(ssl);
  }
  std::unique_ptr<EtcdClient> client(new EtcdClient(std::move(options)));
  for (const std::string& address : client->options_.endpoints) {
    grpc::ChannelArguments args;
    // A restarted etcd is found again within a second, not after gRPC's default two minutes.
    // (Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the connect timeout, and a busy host
    // needs more than a few hundred milliseconds for a handshake.)
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Pings only while calls (watches) are open: etcd refuses idle pings by default.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->address = address;
    endpoint->channel = grpc::CreateCustomChannel(address, credentials, args);
    endpoint->kv = etcdserverpb::KV::NewStub(endpoint->channel);
    endpoint->watch = etcdserverpb::Watch::NewStub(endpoint->channel);
    endpoint->lease = etcdserverpb::Lease::NewStub(endpoint->channel);
    client->endpoints_.push_back(std::move(endpoint));
  }
  return client;
}

absl::Status EtcdClient::Call(
    absl::string_view method, bool idempotent,
    const std::function<grpc::Status(Endpoint&, grpc::ClientContext&)>& attempt,
    std::optional<absl::Duration> timeout) {
  const absl::Duration limit = timeout.value_or(options_.call_timeout);
  const absl::Time deadline = absl::Now() + limit;
  absl::Duration backoff = kFirstBackoff;
  std::vector<std::string> failures(endpoints_.size());
  while (true) {
    const size_t first = current_.load();
    for (size_t i = 0; i < endpoints_.size(); ++i) {
      const size_t index = (first + i) % endpoints_.size();
      Endpoint& endpoint = *endpoints_[index];
      grpc::ClientContext context;
      context.set_deadline(ToDeadline(std::min(deadline, absl::Now() + kAttemptTimeout)));
      const grpc::Status status = attempt(endpoint, context);
      if (status.ok()) {
        current_.store(index);
        return absl::OkStatus();
      }
      const bool retry = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                         (idempotent && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
      if (!retry) return FromGrpc(method, status);
      failures[index] = absl::StrCat(endpoint.address, " (", status.error_message(), ")");
      if (absl::Now() >= deadline) break;
    }
    if (absl::Now() + backoff >= deadline) break;
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
  std::vector<std::string> tried;
  for (const std::string& f : failures) {
    if (!f.empty()) tried.push_back(f);
  }
  return absl::UnavailableError(absl::StrFormat("etcd %s: no endpoint answered within %s: %s",
                                                method, absl::FormatDuration(limit),
                                                absl::StrJoin(tried, "; ")));
}

absl::Status EtcdClient::WaitReachable(absl::Duration timeout,
                                       const std::function<void(const absl::Status&)>& progress) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    etcdserverpb::RangeRequest request;
    request.set_key("/");
    request.set_count_only(true);
    const absl::Time round_start = absl::Now();
    // Rounds of about a second, so that `progress` hears how it goes.
    absl::Status status = Call(
        "Range", true,
        [&](Endpoint& e, grpc::ClientContext& c) {
          etcdserverpb::RangeResponse response;
          return e.kv->Range(&c, request, &response);
        },
        std::max(absl::Milliseconds(100), std::min(absl::Seconds(1), deadline - absl::Now())));
    if (status.ok()) return status;
    if (absl::Now() >= deadline) return status;
    if (progress) progress(status);
    absl::SleepFor(
        std::min(deadline - absl::Now(),
                 std::max(absl::ZeroDuration(), absl::Seconds(1) - (absl::Now() - round_start))));
  }
}

absl::StatusOr<etcdserverpb::RangeResponse> EtcdClient::Range(
    const etcdserverpb::RangeRequest& request) {
  etcdserverpb::RangeResponse response;
  FB_RETURN_IF_ERROR(Call("Range", true, [&](Endpoint& e, grpc::ClientContext& c) {
    response.Clear();
    return e.kv->Range(&c, request, &response);
  }));
  return response;
}

absl::StatusOr<etcdserverpb::RangeResponse> EtcdClient::Get(absl::string_view key) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(key));
  return Range(request);
}

absl::StatusOr<etcdserverpb::RangeResponse> EtcdClient::RangePrefix(absl::string_view prefix) {
  etcdserverpb::RangeRequest request;
  request.set_key(std::string(prefix));
  request.set_range_end(PrefixEnd(prefix));
  return Range(request);
}

absl::StatusOr<etcdserverpb::PutResponse> EtcdClient::Put(const etcdserverpb::PutRequest& request) {
  etcdserverpb::PutResponse response;
  FB_RETURN_IF_ERROR(Call("Put", false, [&](Endpoint& e, grpc::ClientContext& c) {
    response.Clear();
    return e.kv->Put(&c, request, &response);
  }));
  return response;
}

absl::StatusOr<etcdserverpb::DeleteRangeResponse> EtcdClient::DeleteRange(
    const etcdserverpb::DeleteRangeRequest& request) {
  etcdserverpb::DeleteRangeResponse response;
  FB_RETURN_IF_ERROR(Call("DeleteRange", false, [&](Endpoint& e, grpc::ClientContext& c) {
    response.Clear();
    return e.kv->DeleteRange(&c, request, &response);
  }));
  return response;
}

absl::StatusOr<etcdserverpb::TxnResponse> EtcdClient::Txn(const etcdserverpb::TxnRequest& request) {
  etcdserverpb::TxnResponse response;
  FB_RETURN_IF_ERROR(Call("Txn", false, [&](Endpoint& e, grpc::ClientContext& c) {
    response.Clear();
    return e.kv->Txn(&c, request, &response);
  }));
  return response;
}

absl::StatusOr<int64_t> EtcdClient::LeaseGrant(int64_t ttl_seconds) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(ttl_seconds);
  etcdserverpb::LeaseGrantResponse response;
  FB_RETURN_IF_ERROR(Call("LeaseGrant", false, [&](Endpoint& e, grpc::ClientContext& c) {
    response.Clear();
    return e.lease->LeaseGrant(&c, request, &response);
  }));
  if (!response.error().empty()) {
    return absl::UnavailableError(absl::StrCat("etcd LeaseGrant: ", response.error()));
  }
  return response.id();
}

absl::Status EtcdClient::LeaseRevoke(int64_t id) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(id);
  return Call("LeaseRevoke", true, [&](Endpoint& e, grpc::ClientContext& c) {
    etcdserverpb::LeaseRevokeResponse response;
    return e.lease->LeaseRevoke(&c, request, &response);
  });
}

absl::StatusOr<int64_t> EtcdClient::LeaseKeepAliveOnce(int64_t id) {
  etcdserverpb::LeaseKeepAliveResponse response;
  FB_RETURN_IF_ERROR(Call("LeaseKeepAlive", true, [&](Endpoint& e, grpc::ClientContext& c) {
    response.Clear();
    std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::LeaseKeepAliveRequest,
                                             etcdserverpb::LeaseKeepAliveResponse>>
        stream = e.lease->LeaseKeepAlive(&c);
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(id);
    const bool answered = stream->Write(request) && stream->Read(&response);
    stream->WritesDone();
    if (answered) c.TryCancel();  // one answer is all we wanted
    const grpc::Status status = stream->Finish();
    return answered ? grpc::Status::OK : status;
  }));
  if (response.ttl() <= 0) {
    return absl::NotFoundError(absl::StrFormat("etcd lease %x has expired", id));
  }
  return response.ttl();
}

std::unique_ptr<EtcdWatch> EtcdClient::Watch(std::string key, std::string range_end,
                                             int64_t start_revision, WatchCallback on_events) {
  return std::unique_ptr<EtcdWatch>(new EtcdWatch(*this, std::move(key), std::move(range_end),
                                                  start_revision, std::move(on_events)));
}

// --- EtcdWatch ---

EtcdWatch::EtcdWatch(EtcdClient& client, std::string key, std::string range_end,
                     int64_t start_revision, EtcdClient::WatchCallback on_events)
    : client_(client),
      key_(std::move(key)),
      range_end_(std::move(range_end)),
      on_events_(std::move(on_events)),
      next_revision_(start_revision) {
  thread_ = std::thread([this] { Run(); });
}

EtcdWatch::~EtcdWatch() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  thread_.join();
}

void EtcdWatch::Run() {
  absl::Duration backoff = kFirstBackoff;
  size_t index = client_.current_.load();
  while (true) {
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stop_) return;
      context_ = &context;
    }
    EtcdClient::Endpoint& endpoint = *client_.endpoints_[index % client_.endpoints_.size()];
    auto stream = endpoint.watch->Watch(&context);
    etcdserverpb::WatchRequest request;
    etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
    create->set_key(key_);
    create->set_range_end(range_end_);
    create->set_start_revision(next_revision_);
    bool healthy = false;
    if (stream->Write(request)) {
      etcdserverpb::WatchResponse response;
      while (stream->Read(&response)) {
        healthy = true;
        backoff = kFirstBackoff;
        if (response.compact_revision() > 0) {
          // What we needed was compacted away: tell the caller, who reads what it watches
          // again, and go on from the oldest revision etcd kept, so that nothing changed
          // between that read and the new stream is missed (the caller skips what it read).
          next_revision_ = response.compact_revision();
          on_events_({}, response.header().revision(), /*resync=*/true);
          break;
        }
        if (response.canceled()) break;
        if (response.events_size() > 0) {
          std::vector<mvccpb::Event> events(response.events().begin(), response.events().end());
          on_events_(events, response.header().revision(), /*resync=*/false);
          next_revision_ = events.back().kv().mod_revision() + 1;
        } else if (response.created() && next_revision_ == 0) {
          next_revision_ = response.header().revision() + 1;
        }
      }
    }
    context.TryCancel();
    (void)stream->Finish();
    {
      absl::MutexLock lock(&mu_);
      context_ = nullptr;
      if (stop_) return;
      // Sleep the backoff unless stopped meanwhile.
      mu_.AwaitWithTimeout(absl::Condition(&stop_), backoff);
      if (stop_) return;
    }
    if (!healthy) {
      ++index;  // this endpoint did not work: try the next
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  }
}

}  // namespace fleetbond::controller
