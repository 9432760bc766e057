// temp_dir.h
//
// TempDir is a fresh directory under gtest's temporary directory, removed with everything in it
// when the object goes away. The store tests give every test its own.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace fleetbond::controller {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "fb_store_test.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp " << pattern << " failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace fleetbond::controller
