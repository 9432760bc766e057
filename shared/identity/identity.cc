#include "shared/identity/identity.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "shared/identity/openssl_error.h"
#include "shared/status_macros.h"

namespace fleetbond {
namespace {

// Identity files are one base64 line; anything much larger is not one of ours.
constexpr off_t kMaxKeyFileSize = 4096;

std::string ErrnoText(int err) { return std::system_category().message(err); }

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  if (dir.empty()) dir = ".";
  return absl::StrCat(dir, "/", name);
}

// FileDescriptor closes its descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Close closes now and reports the error close(2) gives, which for some file systems is the
  // first sign of a failed write.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

// ReadKeyFile reads a small regular file without following symbolic links. With `secret`, the
// file must not be accessible to group or others: a secret key others can read is compromised,
// and like ssh we refuse it rather than use it.
absl::StatusOr<std::string> ReadKeyFile(const std::string& path, bool secret) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    std::string message = absl::StrCat("cannot open ", path, ": ", ErrnoText(err));
    if (err == ENOENT) return absl::NotFoundError(message);
    if (err == ELOOP) {
      return absl::FailedPreconditionError(
          absl::StrCat("refusing to read ", path, ": it is a symbolic link"));
    }
    return absl::PermissionDeniedError(message);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return absl::InternalError(absl::StrCat("cannot stat ", path, ": ", ErrnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  if (secret && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::PermissionDeniedError(
        absl::StrCat("secret key file ", path, " has mode ", mode,
                     " and is accessible to group or others; run `chmod 600 ", path,
                     "` if it was not exposed, or create a new identity if it was"));
  }
  if (st.st_size > kMaxKeyFileSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is ", st.st_size, " bytes; a key file is one base64 line"));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      OPENSSL_cleanse(text.data(), text.size());
      return absl::InternalError(absl::StrCat("cannot read ", path, ": ", ErrnoText(errno)));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return text;
}

absl::Status WriteAll(int fd, absl::string_view text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InternalError(absl::StrCat("cannot write ", path, ": ", ErrnoText(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// WriteTempFile creates `path` exclusively with `mode` (never following a symbolic link that
// someone planted there), writes `text`, and flushes it to disk. A stale temporary file from an
// earlier crash is removed and the creation retried once.
absl::Status WriteTempFile(const std::string& path, absl::string_view text, mode_t mode) {
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int raw = ::open(path.c_str(), flags, mode);
  if (raw < 0 && errno == EEXIST && ::unlink(path.c_str()) == 0) {
    raw = ::open(path.c_str(), flags, mode);
  }
  if (raw < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", path, ": ", ErrnoText(errno)));
  }
  FileDescriptor fd(raw);
  // The umask can only remove bits; fchmod pins the exact mode (0600 stays 0600 under umask 0).
  if (::fchmod(fd.get(), mode) != 0) {
    int err = errno;
    ::unlink(path.c_str());
    return absl::InternalError(absl::StrCat("cannot set mode of ", path, ": ", ErrnoText(err)));
  }
  absl::Status written = WriteAll(fd.get(), text, path);
  if (written.ok() && ::fsync(fd.get()) != 0) {
    written = absl::InternalError(absl::StrCat("cannot flush ", path, ": ", ErrnoText(errno)));
  }
  if (int err = fd.Close(); written.ok() && err != 0) {
    written = absl::InternalError(absl::StrCat("cannot close ", path, ": ", ErrnoText(err)));
  }
  if (!written.ok()) ::unlink(path.c_str());
  return written;
}

void SyncDirectory(const std::string& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

absl::Status EnsureDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("home ", dir, " is not a directory"));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("cannot create home directory ", dir, ": ", ErrnoText(errno)));
}

absl::StatusOr<SecretKey> DecodeSecretKey(std::string& text, const std::string& path) {
  std::string raw;
  bool ok = absl::Base64Unescape(absl::StripAsciiWhitespace(text), &raw);
  OPENSSL_cleanse(text.data(), text.size());
  SecretKey key;
  if (!ok || raw.size() != kSecretKeySize) {
    OPENSSL_cleanse(raw.data(), raw.size());
    return absl::InvalidArgumentError(absl::StrCat(
        "secret key file ", path, " does not hold a base64-encoded 32-byte X25519 key"));
  }
  std::copy(raw.begin(), raw.end(), key.data());
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

}  // namespace

NodeId NodeId::ForPublicKey(const PublicKey& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // SHA-256 of 32 bytes cannot fail short of memory corruption; terminate loudly if it does.
  if (EVP_Digest(key.data(), key.size(), digest, &len, EVP_sha256(), nullptr) != 1 || len != 32) {
    std::fprintf(stderr, "fatal: SHA-256 failed: %s\n", OpenSslError().c_str());
    std::abort();
  }
  uint64_t value = 0;
  for (int i = 0; i < kBytes; ++i) value = (value << 8) | digest[i];
  return NodeId(value);
}

absl::StatusOr<NodeId> NodeId::Parse(absl::string_view text) {
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("node id \"", absl::CEscape(text), "\" is not 10 hex digits"));
  };
  if (text.size() != static_cast<size_t>(kHexDigits)) return invalid();
  uint64_t value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return invalid();
    }
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  return NodeId(value);
}

std::string NodeId::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kHexDigits, '0');
  for (int i = 0; i < kHexDigits; ++i) out[i] = kHex[(value_ >> (4 * (kHexDigits - 1 - i))) & 0xf];
  return out;
}

std::string EncodePublicKey(const PublicKey& key) {
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}

absl::StatusOr<PublicKey> DecodePublicKey(absl::string_view text) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  std::string raw;
  if (!absl::Base64Unescape(trimmed, &raw) || raw.size() != kPublicKeySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "public key \"", absl::CEscape(trimmed), "\" is not a base64-encoded 32-byte X25519 key"));
  }
  PublicKey key;
  std::copy(raw.begin(), raw.end(), key.begin());
  // One key, one spelling: a lenient decoder would let two different strings name the same key.
  if (EncodePublicKey(key) != trimmed) {
    return absl::InvalidArgumentError(absl::StrCat("public key \"", absl::CEscape(trimmed),
                                                   "\" is not in canonical padded base64 form (",
                                                   EncodePublicKey(key), ")"));
  }
  return key;
}

absl::Status VerifyPeerId(NodeId id, const PublicKey& key) {
  NodeId actual = NodeId::ForPublicKey(key);
  if (actual == id) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("peer ", id.ToString(), " presented public key ",
                                                  EncodePublicKey(key), ", which belongs to id ",
                                                  actual.ToString(), "; refusing the peer"));
}

void Identity::PkeyFree::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }

Identity::Identity(PkeyPtr pkey, const PublicKey& public_key)
    : pkey_(std::move(pkey)), public_key_(public_key), id_(NodeId::ForPublicKey(public_key)) {}
Identity::Identity(Identity&&) noexcept = default;
Identity& Identity::operator=(Identity&&) noexcept = default;
Identity::~Identity() = default;

absl::StatusOr<Identity> Identity::FromPkey(PkeyPtr pkey) {
  PublicKey public_key;
  size_t len = public_key.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), public_key.data(), &len) != 1 ||
      len != public_key.size()) {
    return absl::InternalError(absl::StrCat("cannot read the X25519 public key: ", OpenSslError()));
  }
  return Identity(std::move(pkey), public_key);
}

absl::StatusOr<Identity> Identity::Generate() {
  PkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  if (!pkey) {
    return absl::InternalError(
        absl::StrCat("cannot generate an X25519 key pair: ", OpenSslError()));
  }
  return FromPkey(std::move(pkey));
}

absl::StatusOr<Identity> Identity::FromSecretKey(const SecretKey& secret) {
  PkeyPtr pkey(
      EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, secret.data(), secret.size()));
  if (!pkey) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a usable X25519 private key: ", OpenSslError()));
  }
  return FromPkey(std::move(pkey));
}

absl::StatusOr<Identity> Identity::Load(absl::string_view home) {
  std::string secret_path = JoinPath(home, kSecretFileName);
  FB_ASSIGN_OR_RETURN(std::string secret_text, ReadKeyFile(secret_path, /*secret=*/true));
  FB_ASSIGN_OR_RETURN(SecretKey secret, DecodeSecretKey(secret_text, secret_path));
  FB_ASSIGN_OR_RETURN(Identity identity, FromSecretKey(secret));

  std::string public_path = JoinPath(home, kPublicFileName);
  absl::StatusOr<std::string> public_text = ReadKeyFile(public_path, /*secret=*/false);
  if (absl::IsNotFound(public_text.status())) return identity;
  if (!public_text.ok()) return public_text.status();
  absl::StatusOr<PublicKey> public_key = DecodePublicKey(*public_text);
  if (!public_key.ok() || *public_key != identity.public_key()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "public key file ", public_path, " does not match secret key file ", secret_path,
        " (the secret gives ", EncodePublicKey(identity.public_key()), ", id ",
        identity.id().ToString(), "); remove the public key file to have it rewritten"));
  }
  return identity;
}

absl::StatusOr<Identity> Identity::LoadOrCreate(absl::string_view home, bool* created) {
  if (created != nullptr) *created = false;
  absl::StatusOr<Identity> loaded = Load(home);
  if (!absl::IsNotFound(loaded.status())) return loaded;
  FB_ASSIGN_OR_RETURN(Identity fresh, Generate());
  absl::Status saved = fresh.Save(home);
  // Another process created the identity between our Load and Save: theirs wins.
  if (absl::IsAlreadyExists(saved)) return Load(home);
  FB_RETURN_IF_ERROR(saved);
  if (created != nullptr) *created = true;
  return fresh;
}

absl::Status Identity::Save(absl::string_view home) const {
  std::string dir(home);
  FB_RETURN_IF_ERROR(EnsureDirectory(dir));
  std::string secret_path = JoinPath(home, kSecretFileName);
  std::string public_path = JoinPath(home, kPublicFileName);

  SecretKey secret;
  size_t len = secret.size();
  if (EVP_PKEY_get_raw_private_key(pkey_.get(), secret.data(), &len) != 1 || len != secret.size()) {
    return absl::InternalError(
        absl::StrCat("cannot read the X25519 private key: ", OpenSslError()));
  }
  std::string secret_text = absl::StrCat(
      absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(secret.data()), len)),
      "\n");

  // Write under a temporary name, then link(2) into place: link fails when the target exists, so
  // an existing identity is never replaced, and readers never see a partly written key.
  std::string secret_tmp = absl::StrCat(secret_path, ".tmp");
  absl::Status status = WriteTempFile(secret_tmp, secret_text, 0600);
  OPENSSL_cleanse(secret_text.data(), secret_text.size());
  FB_RETURN_IF_ERROR(status);
  if (::link(secret_tmp.c_str(), secret_path.c_str()) != 0) {
    int err = errno;
    ::unlink(secret_tmp.c_str());
    if (err == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("refusing to overwrite the existing identity in ", secret_path));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", secret_path, ": ", ErrnoText(err)));
  }
  ::unlink(secret_tmp.c_str());

  std::string public_tmp = absl::StrCat(public_path, ".tmp");
  FB_RETURN_IF_ERROR(
      WriteTempFile(public_tmp, absl::StrCat(EncodePublicKey(public_key_), "\n"), 0644));
  if (::rename(public_tmp.c_str(), public_path.c_str()) != 0) {
    int err = errno;
    ::unlink(public_tmp.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", public_path, ": ", ErrnoText(err)));
  }
  SyncDirectory(dir);
  return absl::OkStatus();
}

absl::StatusOr<SharedSecret> Identity::ComputeSharedSecret(const PublicKey& peer) const {
  PkeyPtr peer_key(
      EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer.data(), peer.size()));
  if (!peer_key) {
    return absl::InvalidArgumentError(absl::StrCat("peer public key ", EncodePublicKey(peer),
                                                   " is not an X25519 key: ", OpenSslError()));
  }
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr), &EVP_PKEY_CTX_free);
  SharedSecret secret;
  size_t len = secret.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer_key.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1 || len != secret.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "X25519 key agreement with peer key ", EncodePublicKey(peer), " failed: ", OpenSslError()));
  }
  // OpenSSL already rejects the all-zero result; check again because a key everyone can compute
  // must never reach the KDF, whatever the library version does.
  uint8_t any = 0;
  for (size_t i = 0; i < len; ++i) any |= secret.data()[i];
  if (any == 0) {
    return absl::InvalidArgumentError(absl::StrCat("peer public key ", EncodePublicKey(peer),
                                                   " is a small-order point; refusing it"));
  }
  return secret;
}

}  // namespace fleetbond
