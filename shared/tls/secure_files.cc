#include "shared/tls/secure_files.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fleetbond::tls {
namespace {

constexpr off_t kMaxFileSize = 1 << 20;

std::string ErrnoText(int err) { return std::system_category().message(err); }

// Fd closes its descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Close closes now and returns the errno of a failed close (some file systems report write
  // errors only there), or 0.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

absl::Status ErrnoStatus(int err, const std::string& message) {
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  if (err == EEXIST) return absl::AlreadyExistsError(message);
  return absl::InternalError(message);
}

absl::Status WriteAll(int fd, absl::string_view text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return ErrnoStatus(errno, absl::StrCat("cannot write ", path, ": ", ErrnoText(errno)));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// SyncDirectory makes a rename in `dir` durable.
absl::Status SyncDirectory(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat("cannot flush directory ", dir, ": ", ErrnoText(err)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  if (dir.empty()) dir = ".";
  if (dir == "/") return absl::StrCat("/", name);
  return absl::StrCat(dir, "/", name);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, absl::string_view what,
                                          Secrecy secrecy) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat("no ", what, " file given"));
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat("cannot read ", what, " ", path, ": ", ErrnoText(err)));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return absl::InternalError(absl::StrCat("cannot stat ", path, ": ", ErrnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(what, " ", path, " is not a regular file"));
  }
  if (secrecy == Secrecy::kSecret && (st.st_mode & 007) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s %s has mode %04o: others may read it, so it must be treated as leaked; if it was not "
        "exposed run `chmod 600 %s`, otherwise replace it",
        what, path, st.st_mode & 07777, path));
  }
  if (st.st_size > kMaxFileSize) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", path, " is ", st.st_size,
                                                   " bytes; that is not a PEM or tokens file"));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      OPENSSL_cleanse(text.data(), text.size());
      return ErrnoStatus(err, absl::StrCat("cannot read ", what, " ", path, ": ", ErrnoText(err)));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  text.resize(done);
  return text;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode,
                                 Replace replace) {
  if (replace == Replace::kNever && FileExists(path)) {
    return absl::AlreadyExistsError(
        absl::StrCat(path, " already exists; refusing to overwrite it"));
  }
  unsigned char random[8];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("cannot draw a random temporary file name");
  }
  std::string temp = absl::StrCat(
      path, ".tmp-",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(random), sizeof(random))));
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (fd.get() < 0) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat("cannot create ", temp, ": ", ErrnoText(err)));
  }
  // The umask can only remove bits; fchmod pins the exact mode.
  absl::Status status = absl::OkStatus();
  if (::fchmod(fd.get(), mode) != 0) {
    status =
        absl::InternalError(absl::StrCat("cannot set the mode of ", temp, ": ", ErrnoText(errno)));
  }
  if (status.ok()) status = WriteAll(fd.get(), contents, temp);
  if (status.ok() && ::fsync(fd.get()) != 0) {
    status = absl::InternalError(absl::StrCat("cannot flush ", temp, ": ", ErrnoText(errno)));
  }
  if (int err = fd.Close(); status.ok() && err != 0) {
    status = absl::InternalError(absl::StrCat("cannot close ", temp, ": ", ErrnoText(err)));
  }
  if (status.ok()) {
    if (replace == Replace::kNever) {
      // link(2) fails when the target exists, closing the race with a concurrent writer.
      if (::link(temp.c_str(), path.c_str()) != 0) {
        int err = errno;
        status = ErrnoStatus(
            err, err == EEXIST ? absl::StrCat(path, " already exists; refusing to overwrite it")
                               : absl::StrCat("cannot create ", path, ": ", ErrnoText(err)));
      }
    } else if (::rename(temp.c_str(), path.c_str()) != 0) {
      int err = errno;
      status = ErrnoStatus(err, absl::StrCat("cannot replace ", path, ": ", ErrnoText(err)));
    }
  }
  ::unlink(temp.c_str());  // after link(2) the temporary name is redundant; after rename, gone
  if (status.ok()) status = SyncDirectory(DirectoryOf(path));
  return status;
}

absl::Status EnsurePrivateDirectory(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("no directory given");
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
  }
  std::string parent = DirectoryOf(dir);
  if (parent != dir && parent != "." && parent != "/") {
    absl::Status made = EnsurePrivateDirectory(parent);
    if (!made.ok()) return made;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    int err = errno;
    return ErrnoStatus(err, absl::StrCat("cannot create directory ", dir, ": ", ErrnoText(err)));
  }
  return absl::OkStatus();
}

}  // namespace fleetbond::tls
