#include "shared/settings/did_you_mean.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace fleetbond::settings {

size_t EditDistance(absl::string_view a, absl::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  // d[i][j] = distance between a[0, i) and b[0, j), stored row-major.
  std::vector<size_t> d((n + 1) * (m + 1));
  auto at = [&](size_t i, size_t j) -> size_t& { return d[i * (m + 1) + j]; };
  for (size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const bool same = absl::ascii_tolower(a[i - 1]) == absl::ascii_tolower(b[j - 1]);
      size_t best =
          std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (same ? 0 : 1)});
      if (i > 1 && j > 1 && absl::ascii_tolower(a[i - 1]) == absl::ascii_tolower(b[j - 2]) &&
          absl::ascii_tolower(a[i - 2]) == absl::ascii_tolower(b[j - 1])) {
        best = std::min(best, at(i - 2, j - 2) + 1);
      }
      at(i, j) = best;
    }
  }
  return at(n, m);
}

std::optional<std::string> ClosestMatch(absl::string_view word,
                                        const std::vector<std::string>& candidates) {
  const size_t limit = word.size() <= 4 ? 1 : word.size() <= 8 ? 2 : 3;
  auto common_prefix = [&](const std::string& c) {
    size_t n = 0;
    while (n < c.size() && n < word.size() &&
           absl::ascii_tolower(c[n]) == absl::ascii_tolower(word[n])) {
      ++n;
    }
    return n;
  };
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  size_t best_prefix = 0;
  for (const std::string& c : candidates) {
    if (c == word) continue;
    const size_t dist = EditDistance(word, c);
    const size_t prefix = common_prefix(c);
    if (dist < best_distance || (dist == best_distance && prefix > best_prefix)) {
      best_distance = dist;
      best_prefix = prefix;
      best = c;
    }
  }
  return best;
}

std::string DidYouMean(absl::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> match = ClosestMatch(word, candidates);
  if (!match) return "";
  return absl::StrCat(" (did you mean \"", *match, "\"?)");
}

}  // namespace fleetbond::settings
