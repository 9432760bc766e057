#include "shared/settings/config_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace fleetbond::settings {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A temporary directory for the files one test writes; removed afterwards.
class ConfigCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "config_check_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string& f : files_) unlink(f.c_str());
    rmdir(dir_.c_str());
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }

  int Run(const std::string& path, bool json) {
    out_.str("");
    err_.str("");
    return RunConfigCheck(path, json, out_, err_);
  }

  std::string dir_;
  std::vector<std::string> files_;
  std::ostringstream out_;
  std::ostringstream err_;
};

constexpr char kValid[] = R"({"settings": {"defaultBondingPolicy": "rapid-active-backup",
    "policies": {"rapid-active-backup": {"basePolicy": "active-backup", "failoverInterval": 1000}}}})";

TEST_F(ConfigCheck, ValidFileExitsZeroAndPrintsTheTable) {
  EXPECT_EQ(Run(Write("ok.conf", kValid), false), kCheckValid);
  EXPECT_THAT(out_.str(), HasSubstr("Policy                 : rapid-active-backup\n"));
  EXPECT_THAT(out_.str(), HasSubstr("Failover Interval (ms) : 1000\n"));
  EXPECT_THAT(err_.str(), IsEmpty());
}

TEST_F(ConfigCheck, WarningsArePrintedButTheFileIsStillValid) {
  std::string path = Write("warn.conf", R"({"settings": {"defaultBondingPolicy": "p",
      "policies": {"p": {"basePolicy": "balance-rr", "packetsPerLink": 0}}}})");
  EXPECT_EQ(Run(path, false), kCheckValid);
  EXPECT_THAT(err_.str(), HasSubstr("warning: settings.policies.p.packetsPerLink: 0 sends"));
  EXPECT_THAT(err_.str(), HasSubstr(absl::StrCat(path, ": valid, with 1 warning\n")));
  EXPECT_THAT(out_.str(), HasSubstr("Packets Per Link       : 0\n"));
}

TEST_F(ConfigCheck, InvalidFileExitsOneWithEveryError) {
  std::string path = Write("bad.conf", R"({"settings": {"defaultBondingPolicy": "fast-ab",
      "policies": {"fast-ab": {"basePolicy": "active-backup", "packetsPerLink": 8,
          "links": {"eth0": {"mode": "primary"}, "eth1": {"mode": "primary"}}}}}})");
  EXPECT_EQ(Run(path, false), kCheckInvalid);
  EXPECT_THAT(out_.str(), IsEmpty());
  EXPECT_EQ(err_.str(),
            absl::StrCat("error: settings.policies.fast-ab.links.eth1.mode: policy \"fast-ab\" "
                         "already has primary link \"eth0\"; active-backup allows only one "
                         "primary link\n"
                         "error: settings.policies.fast-ab.packetsPerLink: not a parameter of "
                         "basePolicy active-backup (only balance-rr takes it)\n",
                         path, ": not valid: 2 errors, 0 warnings\n"));
}

TEST_F(ConfigCheck, MalformedJsonExitsOneWithFileLineAndColumn) {
  std::string path =
      Write("syntax.conf", "{\"settings\": {\"defaultBondingPolicy\": \"broadcast\",\n  }");
  EXPECT_EQ(Run(path, false), kCheckInvalid);
  EXPECT_THAT(err_.str(), HasSubstr(absl::StrCat("error: ", path, ": line 2, column 3: ")));
}

TEST_F(ConfigCheck, MissingFileExitsTwoNamingThePathAndReason) {
  std::string path = absl::StrCat(dir_, "/does-not-exist.conf");
  EXPECT_EQ(Run(path, false), kCheckUnreadable);
  EXPECT_EQ(err_.str(), absl::StrCat("error: cannot read ", path, ": No such file or directory\n"));
  EXPECT_THAT(out_.str(), IsEmpty());
}

TEST_F(ConfigCheck, DirectoryExitsTwo) {
  EXPECT_EQ(Run(dir_, false), kCheckUnreadable);
  EXPECT_EQ(err_.str(), absl::StrCat("error: cannot read ", dir_, ": Is a directory\n"));
}

TEST_F(ConfigCheck, UnreadableFileExitsTwo) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads files without permission";
  std::string path = Write("secret.conf", kValid);
  chmod(path.c_str(), 0);
  EXPECT_EQ(Run(path, false), kCheckUnreadable);
  EXPECT_THAT(err_.str(), HasSubstr("Permission denied"));
}

TEST_F(ConfigCheck, JsonModePrintsOneDocumentWhenValid) {
  std::string path = Write("warn.conf", R"({"settings": {"defaultBondingPolicy": "p",
      "policies": {"p": {"basePolicy": "balance-rr", "packetsPerLink": 0}}}})");
  EXPECT_EQ(Run(path, true), kCheckValid);
  EXPECT_THAT(err_.str(), IsEmpty());
  nlohmann::json doc = nlohmann::json::parse(out_.str());
  EXPECT_EQ(doc["valid"], true);
  EXPECT_EQ(doc["errors"], nlohmann::json::array());
  EXPECT_EQ(doc["warnings"].size(), 1u);
  EXPECT_EQ(doc["warnings"][0]["path"], "settings.policies.p.packetsPerLink");
  EXPECT_EQ(doc["defaultBondingPolicy"], "p");
  EXPECT_EQ(doc["policies"][0]["name"], "p");
  EXPECT_EQ(doc["policies"][0]["packetsPerLink"], 0);
}

TEST_F(ConfigCheck, JsonModeListsErrorsWhenInvalid) {
  std::string path = Write("bad.conf", R"({"settings": {"defaultBondingPolicy": "nope"}})");
  EXPECT_EQ(Run(path, true), kCheckInvalid);
  nlohmann::json doc = nlohmann::json::parse(out_.str());
  EXPECT_EQ(doc["valid"], false);
  ASSERT_EQ(doc["errors"].size(), 1u);
  EXPECT_EQ(doc["errors"][0]["path"], "settings.defaultBondingPolicy");
  EXPECT_THAT(doc["errors"][0]["message"].get<std::string>(),
              HasSubstr("policy \"nope\" is not defined"));
  EXPECT_EQ(doc["policies"], nlohmann::json::array());
}

TEST_F(ConfigCheck, JsonModeReportsAnUnreadableFile) {
  std::string path = absl::StrCat(dir_, "/gone.conf");
  EXPECT_EQ(Run(path, true), kCheckUnreadable);
  nlohmann::json doc = nlohmann::json::parse(out_.str());
  EXPECT_EQ(doc["valid"], false);
  EXPECT_EQ(doc["errors"][0]["message"],
            absl::StrCat("cannot read ", path, ": No such file or directory"));
}

}  // namespace
}  // namespace fleetbond::settings
