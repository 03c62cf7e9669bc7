// The unit tests: every case under doctest_main.hpp's rules.
#include "doctest_main.hpp"

int main(int argc, char** argv) { return dnabert::test::run_test_cases(argc, argv); }
