// text_table.h
//
// The one renderer of plain-text tables in fleetbond (check-config, and the CLI's `bond list`,
// `bond <peer> show`), in the style of the spec's zerotier-cli output.
//
// TextTable prints columns under a header and a dashed rule, left-aligned unless a column is set
// to align right (numbers, as in `bond <peer> show`); KeyValueList prints "Key : value" lines
// with the colons aligned.
//
// Example:
//   TextTable t({"link", "mode"});
//   t.AddRow({"eth0", "primary"});
//   std::cout << t.Render();
//   // link  mode
//   // -------------
//   // eth0  primary
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace fleetbond {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers)
      : headers_(std::move(headers)), right_(headers_.size(), false) {}

  // AlignRight right-aligns column `column` (its header too).
  void AlignRight(size_t column) {
    if (column < right_.size()) right_[column] = true;
  }

  // AddRow appends a row; missing cells print empty, extra cells are dropped.
  void AddRow(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
  }

  // Render returns the table, every line ending in '\n', without trailing spaces.
  std::string Render() const {
    std::vector<size_t> widths(headers_.size());
    for (size_t c = 0; c < headers_.size(); ++c) {
      widths[c] = headers_[c].size();
      for (const auto& row : rows_) widths[c] = std::max(widths[c], row[c].size());
    }
    std::string out = Line(headers_, widths);
    size_t total = 0;
    for (size_t w : widths) total += w;
    total += widths.empty() ? 0 : 2 * (widths.size() - 1);
    out += std::string(total, '-') + "\n";
    for (const auto& row : rows_) out += Line(row, widths);
    return out;
  }

 private:
  std::string Line(const std::vector<std::string>& cells, const std::vector<size_t>& widths) const {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) line += "  ";
      const std::string pad(widths[c] - cells[c].size(), ' ');
      if (right_[c]) {
        line += pad + cells[c];
      } else {
        line += cells[c];
        if (c + 1 < cells.size()) line += pad;
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  }

  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

class KeyValueList {
 public:
  void Add(std::string key, std::string value) {
    entries_.emplace_back(std::move(key), std::move(value));
  }

  // Render returns "Key<pad> : value\n" per entry; an entry with an empty key continues the one
  // above it (its value is aligned, without a colon).
  std::string Render() const {
    size_t width = 0;
    for (const auto& [k, v] : entries_) width = std::max(width, k.size());
    std::string out;
    for (const auto& [k, v] : entries_) {
      out += k + std::string(width - k.size(), ' ') + (k.empty() ? "   " : " : ") + v + "\n";
    }
    return out;
  }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace fleetbond
