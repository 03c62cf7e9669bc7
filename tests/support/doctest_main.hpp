#pragma once
// The test programs' main: doctest, plus the three rules that make one CTest entry per test case
// honest (tests/cmake/DoctestCases.cmake registers them):
//   * listing the cases refuses a name that CTest or doctest's filter would mangle;
//   * a run given --one-case fails unless exactly one case ran (a filter that matched nothing
//     must not pass);
//   * a case that found an input missing (test_skip.hpp) exits 77, which CTest reports as skipped.
// Include it in exactly one file of a test program (it implements doctest).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "test_skip.hpp"

#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

unsigned cases_run = 0;
bool bad_names = false;

/// Why CTest or a doctest --test-case filter would not give `name` back as one test; empty if fine.
std::string_view name_problem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.front() == ' ' || name.back() == ' ') return "starts or ends with a space";
  if (name.find(';') != std::string_view::npos) return "contains ';' (CTest splits the name into two tests)";
  int depth = 0;  // CMake lists do not split inside [...]: an unclosed '[' swallows the next names
  for (const char c : name) {
    depth += c == '[' ? 1 : c == ']' ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth != 0) return "has unbalanced '[' ']' (CMake list brackets)";
  if (name.find_first_of("*?") != std::string_view::npos) return "contains '*' or '?' (doctest filter wildcards)";
  if (name.find('\\') != std::string_view::npos) return "contains '\\' (doctest filter escape)";
  return {};
}

/// Checks every name when the cases are listed, and counts the cases a run executes.
struct case_registry_listener : doctest::IReporter {
  explicit case_registry_listener(const doctest::ContextOptions&) {}

  void report_query(const doctest::QueryData& query) override {
    if (query.data == nullptr) return;
    std::map<std::string_view, unsigned> uses;
    for (unsigned i = 0; i < query.num_data; ++i) {
      const doctest::TestCaseData& test = *query.data[i];
      const std::string_view name = test.m_name;
      const std::string_view problem = name_problem(name);
      if (!problem.empty() || ++uses[name] > 1) {
        bad_names = true;
        std::cerr << test.m_file.c_str() << ':' << test.m_line << ": test case \"" << name << "\" "
                  << (problem.empty() ? std::string_view("is used twice") : problem) << '\n';
      }
    }
  }
  void test_run_end(const doctest::TestRunStats& stats) override { cases_run = stats.numTestCasesPassingFilters; }
  void test_run_start() override {}
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("case_registry", 1, case_registry_listener);

}  // namespace

namespace dnabert::test {

/// Runs the doctest cases selected by argv under the rules above. `unavailable`, checked unless
/// the run only lists or queries, returns why this machine cannot run any case (exit 77, skipped).
inline int run_test_cases(int argc, char** argv, std::optional<std::string> (*unavailable)() = nullptr) {
  std::vector<char*> arguments;
  bool one_case = false;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--one-case") == 0) {
      one_case = true;
    } else {
      arguments.push_back(argv[i]);
    }
  }
  doctest::Context context(static_cast<int>(arguments.size()), arguments.data());
  if (unavailable != nullptr && !context.shouldExit()) {
    if (const auto reason = unavailable()) {
      std::cout << "skipped: " << *reason << '\n';
      return skip_exit_code;
    }
  }
  const int status = context.run();
  if (bad_names) {
    std::cerr << "rename these test cases: each must come back from CTest as exactly one test\n";
    return 1;
  }
  if (context.shouldExit() || status != 0) return status;
  if (one_case && cases_run != 1) {
    std::cerr << "expected the filter to select exactly one test case; it selected " << cases_run << '\n';
    return 1;
  }
  if (skipped_reason()) {
    std::cerr << "skipped: " << *skipped_reason() << '\n';
    return skip_exit_code;
  }
  return 0;
}

}  // namespace dnabert::test
