#pragma once
// Skipping a test case whose input is missing, visibly: the unit tests' main exits with
// skip_exit_code, which CTest reports as "Skipped" (SKIP_RETURN_CODE), never as a pass. With the
// environment variable DNABERT_TESTS_REQUIRE_INPUTS set (CI sets it), a missing input fails.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace dnabert::test {

/// The exit code CTest is told means "skipped".
inline constexpr int skip_exit_code = 77;

/// Why the current run skipped a test case, if it did.
inline std::optional<std::string>& skipped_reason() {
  static std::optional<std::string> reason;
  return reason;
}

/// True when `path` exists; otherwise marks the test case skipped (or fails it where inputs are
/// required) and returns false, so that the caller returns at once.
inline bool input_present(const std::string& path) {
  if (std::filesystem::exists(path)) return true;
  const std::string reason = path + " is not present on this machine";
  if (std::getenv("DNABERT_TESTS_REQUIRE_INPUTS") != nullptr) {
    FAIL(reason << " (DNABERT_TESTS_REQUIRE_INPUTS is set)");
  }
  MESSAGE("skipped: " << reason);
  skipped_reason() = reason;
  return false;
}

}  // namespace dnabert::test
