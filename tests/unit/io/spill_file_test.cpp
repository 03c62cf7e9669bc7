// The scratch file streaming commands keep rows in: records back in order, as often as asked, and
// no file left on disk.
#include "dnabert/io/spill_file.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <iterator>
#include <string>
#include <vector>

#include "test_paths.hpp"

namespace io_spill_file_test {

TEST_CASE("spill_file: records come back in order, twice, from a file that has no name") {
  const auto dir = dnabert::test::scratch_dir("spill_file");
  {
    dnabert::io::spill_file spill(dir.string());
    CHECK(std::filesystem::is_empty(dir));  // unlinked at once
    const std::vector<float> row{1.5f, -2.0f, 3.25f};
    spill.write("first");
    spill.write(std::span<const float>(row));
    spill.write("");
    CHECK(spill.records() == 3);
    for (int pass = 0; pass < 2; ++pass) {
      std::string text;
      std::vector<float> values;
      REQUIRE(spill.read(text));
      CHECK(text == "first");
      REQUIRE(spill.read(values));
      CHECK(values == row);
      REQUIRE(spill.read(text));
      CHECK(text.empty());
      CHECK_FALSE(spill.read(text));
      spill.rewind();
    }
    CHECK_THROWS_WITH_AS(spill.write("late"), doctest::Contains("written after reading began"), dnabert::error);
  }
  CHECK_THROWS_WITH_AS(dnabert::io::spill_file((dir / "missing").string()),
                       doctest::Contains("cannot create a scratch file in"), dnabert::error);
}

}  // namespace io_spill_file_test
