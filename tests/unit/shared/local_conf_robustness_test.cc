// Whatever bytes arrive, the settings check answers with issues: it never throws, crashes or
// accepts a broken document. Run under ASan+UBSan in CI.
#include <dirent.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shared/settings/local_conf_loader.h"
#include "tests/unit/shared/settings_test_util.h"

namespace fleetbond::settings {
namespace {

using ::fleetbond::settings::testing::ReadSourceFile;

std::vector<std::string> SpecExamples() {
  std::vector<std::string> texts;
  const std::string dir = std::string(FB_SOURCE_DIR) + "/tests/unit/shared/testdata/spec";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return texts;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".conf") {
      texts.push_back(ReadSourceFile("tests/unit/shared/testdata/spec/" + name));
    }
  }
  closedir(d);
  return texts;
}

TEST(Robustness, EveryTruncatedExampleIsRejected) {
  std::vector<std::string> examples = SpecExamples();
  ASSERT_EQ(examples.size(), 17u);
  for (const std::string& text : examples) {
    size_t end = text.find_last_of('}');
    if (end == std::string::npos) continue;
    for (size_t n = 0; n < end; ++n) {
      LocalConfCheck check = CheckLocalConf(text.substr(0, n));
      ASSERT_FALSE(check.valid()) << "prefix " << n << " of:\n" << text;
      ASSERT_FALSE(check.issues.empty());
      EXPECT_EQ(check.issues[0].path, "");
      // A prefix of a fragment such as `"links": {...}` can be a whole JSON string.
      EXPECT_THAT(check.issues[0].message,
                  ::testing::AnyOf(::testing::StartsWith("line "),
                                   ::testing::StartsWith("local.conf must be a JSON object")));
    }
  }
}

TEST(Robustness, EverySingleByteChangeIsHandled) {
  const std::string text =
      ReadSourceFile("tests/unit/shared/testdata/spec/04_physical_interfaces.conf");
  for (size_t i = 0; i < text.size(); ++i) {
    for (char c : {'\0', '"', '{', '}', ',', ':', '9', '-', 'x', '\xff'}) {
      std::string mutated = text;
      mutated[i] = c;
      LocalConfCheck check = CheckLocalConf(mutated);
      EXPECT_EQ(check.valid(), !HasErrors(check.issues));
    }
  }
}

TEST(Robustness, DeepNestingIsRefusedBeforeParsing) {
  std::string deep = R"({"overlay": )" + std::string(20000, '[') + std::string(20000, ']') + "}";
  EXPECT_THAT(CheckLocalConf(deep).issues,
              ::testing::ElementsAre(Error("",
                                           "line 1, column 76: objects and arrays nest more than "
                                           "64 levels deep; local.conf needs at most 5")));
  EXPECT_FALSE(CheckLocalConf(std::string(20000, '[')).valid());
  // Brackets inside strings do not count.
  EXPECT_TRUE(
      CheckLocalConf(R"({"overlay": {"name": ")" + std::string(100, '[') + R"("}})").valid());
}

}  // namespace
}  // namespace fleetbond::settings
