// token_set.h
//
// TokenSet is the controller's list of operator bearer tokens, read from the file given with
// --operator-tokens: one `NAME TOKEN` pair per line, '#' starts a comment line, blank lines are
// skipped. NAME follows ValidateOperatorName; TOKEN is at least 16 characters without spaces
// (`openssl rand -hex 32` makes a good one). The file must not be readable by others.
//
// Only SHA-256 digests of the tokens are kept in memory, and a presented token is compared with
// every one of them in constant time, so neither timing nor a memory dump gives a token away.
//
// Example:
//   FB_ASSIGN_OR_RETURN(TokenSet tokens, TokenSet::Load("/etc/fleetbond/operator-tokens"));
//   if (std::optional<std::string> name = tokens.Match(presented)) { ... }
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fleetbond::tls {

class TokenSet {
 public:
  static constexpr size_t kMinTokenLength = 16;

  // An empty set matches nothing.
  TokenSet() = default;

  // Parse reads the text of a tokens file; `source` names it in errors, which quote the line
  // number but never the token.
  static absl::StatusOr<TokenSet> Parse(absl::string_view text, absl::string_view source);
  // Load reads and parses `path`, refusing a file that others can read.
  static absl::StatusOr<TokenSet> Load(const std::string& path);

  // Match returns the name of the operator whose token is `token`, or nothing.
  std::optional<std::string> Match(absl::string_view token) const;

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    std::string name;
    std::array<unsigned char, 32> digest;
  };
  std::vector<Entry> entries_;
};

}  // namespace fleetbond::tls
