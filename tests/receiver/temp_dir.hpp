#pragma once
// A fresh temporary directory (fh::test::make_temp_dir) removed with everything in it when the
// object goes away, unless FH_KEEP_TEMP is set in the environment (to look at logs and dumps).

#include "test_util.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace fh::receiver::test {

class TempDir {
 public:
  explicit TempDir(const std::string& tag) : path_(fh::test::make_temp_dir(tag)) {}
  ~TempDir() {
    if (std::getenv("FH_KEEP_TEMP") == nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(path_, ignored);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;  ///< the directory
};

}  // namespace fh::receiver::test
