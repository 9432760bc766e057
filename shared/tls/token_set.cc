#include "shared/tls/token_set.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "shared/identity/openssl_error.h"
#include "shared/status_macros.h"
#include "shared/tls/fleet_names.h"
#include "shared/tls/secure_files.h"

namespace fleetbond::tls {
namespace {

std::array<unsigned char, 32> Sha256(absl::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  // SHA-256 of a short string cannot fail short of memory corruption; terminate loudly if it does.
  if (EVP_Digest(text.data(), text.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != digest.size()) {
    std::fprintf(stderr, "fatal: SHA-256 failed: %s\n", OpenSslError().c_str());
    std::abort();
  }
  return digest;
}

bool IsTokenChar(char c) { return c > 0x20 && c < 0x7f; }

}  // namespace

absl::StatusOr<TokenSet> TokenSet::Parse(absl::string_view text, absl::string_view source) {
  TokenSet set;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
    auto where = [&] { return absl::StrCat(source, " line ", line_number, ": "); };
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(where(), "expected `NAME TOKEN`, found ", fields.size(), " fields"));
    }
    absl::Status name_ok = ValidateOperatorName(fields[0]);
    if (!name_ok.ok()) return absl::InvalidArgumentError(absl::StrCat(where(), name_ok.message()));
    absl::string_view token = fields[1];
    for (char c : token) {
      if (!IsTokenChar(c)) {
        return absl::InvalidArgumentError(
            absl::StrCat(where(), "the token of operator ", fields[0],
                         " has a character that cannot travel in an HTTP header"));
      }
    }
    if (token.size() < kMinTokenLength) {
      return absl::InvalidArgumentError(absl::StrCat(
          where(), "the token of operator ", fields[0], " is ", token.size(),
          " characters; use at least ", kMinTokenLength, " random ones (`openssl rand -hex 32`)"));
    }
    Entry entry{std::string(fields[0]), Sha256(token)};
    for (const Entry& other : set.entries_) {
      if (CRYPTO_memcmp(other.digest.data(), entry.digest.data(), entry.digest.size()) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(where(), "operator ", fields[0], " has the same token as ", other.name));
      }
    }
    set.entries_.push_back(std::move(entry));
  }
  return set;
}

absl::StatusOr<TokenSet> TokenSet::Load(const std::string& path) {
  FB_ASSIGN_OR_RETURN(std::string text,
                      ReadSmallFile(path, "operator tokens file", Secrecy::kSecret));
  auto set = Parse(text, path);
  OPENSSL_cleanse(text.data(), text.size());
  return set;
}

std::optional<std::string> TokenSet::Match(absl::string_view token) const {
  std::array<unsigned char, 32> digest = Sha256(token);
  const Entry* found = nullptr;
  // Every entry is compared, matched or not, so the time taken says nothing about which matched.
  for (const Entry& entry : entries_) {
    bool equal = CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (equal) found = &entry;
  }
  if (found == nullptr) return std::nullopt;
  return found->name;
}

}  // namespace fleetbond::tls
