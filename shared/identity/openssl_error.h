// openssl_error.h
//
// OpenSslError turns the calling thread's OpenSSL error queue into a sentence fragment for an
// absl::Status message, and empties the queue so a later failure does not report a stale reason.
//
// Example:
//   if (EVP_PKEY_derive(ctx, out, &len) != 1) {
//     return absl::InternalError(absl::StrCat("X25519 key agreement failed: ", OpenSslError()));
//   }
#pragma once

#include <openssl/err.h>

#include <string>

namespace fleetbond {

// OpenSslError returns the oldest queued OpenSSL error as text (or "no OpenSSL error detail")
// and clears the queue.
inline std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error detail";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

}  // namespace fleetbond
