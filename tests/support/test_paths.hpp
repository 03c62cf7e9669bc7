#pragma once
// Where the tests find their committed fixtures and, when present, the shared DNABERT sample.
#include <filesystem>
#include <string>

#include <unistd.h>

namespace dnabert::test {

/// Path of a committed fixture under tests/data.
inline std::string data_path(const std::string& relative) { return std::string(DNABERT_TEST_DATA_DIR) + "/" + relative; }

/// Path under ../shared (DNABERT's sample data); may not exist outside this project's machines.
inline std::string shared_path(const std::string& relative) { return std::string(DNABERT_SHARED_DIR) + "/" + relative; }

/// A fresh empty directory under the system temp dir for one test; the process id keeps test
/// processes that CTest runs side by side (or two builds' suites) out of each other's folders.
inline std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("dnabert-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace dnabert::test
