// did_you_mean.h
//
// Suggestions for misspelt keys and names: "failoverIntreval" -> "failoverInterval". Used by the
// local.conf parser and the validator so that an unknown key or name is reported together with
// the closest known one.
//
// Example:
//   ClosestMatch("polices", {"policies", "peerSpecificBonds"});  // "policies"
//   DidYouMean("eht0", {"eth0", "eth1"});                       // " (did you mean \"eth0\"?)"
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace fleetbond::settings {

// EditDistance is the optimal-string-alignment distance between `a` and `b` ignoring ASCII case:
// insertions, deletions, substitutions and transpositions of neighbours each cost 1.
size_t EditDistance(absl::string_view a, absl::string_view b);

// ClosestMatch returns the candidate nearest to `word` when it is close enough to be a likely
// typo (distance 1 for words up to 4 characters, 2 up to 8, 3 beyond; any case-only difference),
// or nullopt. Ties go to the longer common prefix ("balance-xr" -> "balance-xor", not
// "balance-rr"), then to the earlier candidate.
std::optional<std::string> ClosestMatch(absl::string_view word,
                                        const std::vector<std::string>& candidates);

// DidYouMean returns ` (did you mean "X"?)` for the closest match, or "" when there is none.
std::string DidYouMean(absl::string_view word, const std::vector<std::string>& candidates);

}  // namespace fleetbond::settings
