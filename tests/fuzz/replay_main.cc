// The regression driver: a main() for a fuzz target's LLVMFuzzerTestOneInput, for builds
// without libFuzzer (GCC, the ASan build of scripts/test.sh). Every argument is a file or a
// directory of files (not recursive); each file is run once, in name order. It prints how many
// inputs ran; a crash, a sanitizer report or a failed check ends the process as it would under
// libFuzzer, with the file's name printed first.
//
//   flow_classifier_replay tests/fuzz/corpus/flow_classifier tests/fuzz/regressions/flow_classifier
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code error;
    if (fs::is_directory(arg, error)) {
      for (const fs::directory_entry& e : fs::directory_iterator(arg)) {
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') {
          files.push_back(e.path());
        }
      }
    } else if (fs::is_regular_file(arg, error)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: %s is neither a file nor a directory\n", argv[i]);
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
      return 2;
    }
    std::fprintf(stderr, "replay: %s\n", file.c_str());
    // A copy of exactly the file's size, so a read past the end is caught as under libFuzzer.
    std::vector<uint8_t> data(bytes.begin(), bytes.end());
    uint8_t* p = data.empty() ? nullptr : data.data();
    LLVMFuzzerTestOneInput(p, data.size());
  }
  std::printf("replay: %zu input(s) ran without a failure\n", files.size());
  return 0;
}
