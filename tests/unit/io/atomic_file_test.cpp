// Tests of io::atomic_file_writer: the target holds either its old content or the complete new
// one, never a mix, and no temporary file outlives a writer.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "dnabert/io/atomic_file.hpp"
#include "file_size_limit.hpp"
#include "test_paths.hpp"

namespace io_atomic_file_test {

namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> directory_entries(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.push_back(entry.path().filename().string());
  return names;
}

}  // namespace

TEST_CASE("atomic_file: creates a file, then replaces it whole, leaving no temporary file") {
  const auto dir = dnabert::test::scratch_dir("atomic-create");
  const std::string target = (dir / "config.json").string();

  dnabert::io::write_file_atomically(target, "first");
  CHECK(read_text(target) == "first");
  dnabert::io::write_file_atomically(target, std::string(3'000'000, 'x'));
  CHECK(read_text(target) == std::string(3'000'000, 'x'));
  dnabert::io::write_file_atomically(target, "");
  CHECK(read_text(target).empty());
  CHECK(directory_entries(dir) == std::vector<std::string>{"config.json"});
}

TEST_CASE("atomic_file: nothing reaches the target before commit, and an uncommitted writer cleans up") {
  const auto dir = dnabert::test::scratch_dir("atomic-uncommitted");
  const std::string target = (dir / "vocab.txt").string();
  dnabert::io::write_file_atomically(target, "old content");
  {
    dnabert::io::atomic_file_writer writer(target);
    writer.write("new content, half written");
    CHECK(read_text(target) == "old content");
    CHECK(directory_entries(dir).size() == 2);  // the target and the writer's temporary file
  }
  CHECK(read_text(target) == "old content");
  CHECK(directory_entries(dir) == std::vector<std::string>{"vocab.txt"});
}

TEST_CASE("atomic_file: an exception while filling leaves the old file and no temporary file") {
  const auto dir = dnabert::test::scratch_dir("atomic-throwing");
  const std::string target = (dir / "model.safetensors").string();
  dnabert::io::write_file_atomically(target, "old");
  CHECK_THROWS_WITH_AS(dnabert::io::write_file_atomically(target,
                                                          [](dnabert::io::atomic_file_writer& writer) {
                                                            writer.write("partial");
                                                            throw std::runtime_error("producer failed");
                                                          }),
                       "producer failed", std::runtime_error);
  CHECK(read_text(target) == "old");
  CHECK(directory_entries(dir) == std::vector<std::string>{"model.safetensors"});
}

TEST_CASE("atomic_file: a missing directory gives an error naming the path and the reason") {
  const auto dir = dnabert::test::scratch_dir("atomic-missing-dir");
  const std::string target = (dir / "no-such-dir" / "out.txt").string();
  CHECK_THROWS_WITH_AS(dnabert::io::write_file_atomically(target, "x"),
                       doctest::Contains(("cannot write " + target + ": cannot create temporary file").c_str()),
                       dnabert::error);
  CHECK_THROWS_WITH_AS(dnabert::io::write_file_atomically(target, "x"), doctest::Contains("No such file or directory"),
                       dnabert::error);
  CHECK(directory_entries(dir).empty());
}

TEST_CASE("atomic_file: a parent path that is a file is reported") {
  const auto dir = dnabert::test::scratch_dir("atomic-parent-file");
  const std::string parent = (dir / "plain-file").string();
  dnabert::io::write_file_atomically(parent, "I am a file");
  CHECK_THROWS_WITH_AS(dnabert::io::write_file_atomically(parent + "/out.txt", "x"), doctest::Contains("Not a directory"),
                       dnabert::error);
}

TEST_CASE("atomic_file: a failed rename removes the temporary file") {
  const auto dir = dnabert::test::scratch_dir("atomic-rename-fails");
  const auto target = dir / "occupied";
  fs::create_directories(target / "child");  // rename(2) cannot replace a non-empty directory
  CHECK_THROWS_WITH_AS(dnabert::io::write_file_atomically(target.string(), "x"),
                       doctest::Contains("cannot rename"), dnabert::error);
  CHECK(directory_entries(dir) == std::vector<std::string>{"occupied"});
}

TEST_CASE("atomic_file: a committed writer refuses further writes") {
  const auto dir = dnabert::test::scratch_dir("atomic-after-commit");
  const std::string target = (dir / "done.txt").string();
  dnabert::io::atomic_file_writer writer(target);
  CHECK(writer.path() == target);
  writer.write("complete");
  writer.commit();
  CHECK(read_text(target) == "complete");
  CHECK_THROWS_WITH_AS(writer.write("more"), doctest::Contains("already committed"), dnabert::error);
  CHECK_THROWS_WITH_AS(writer.commit(), doctest::Contains("already committed"), dnabert::error);
  CHECK(read_text(target) == "complete");
}

TEST_CASE("atomic_file: a write the disk refuses names the file, keeps the old content and removes the temporary file") {
  const auto dir = dnabert::test::scratch_dir("atomic-disk-full");
  const std::string target = (dir / "optimizer.safetensors").string();
  dnabert::io::write_file_atomically(target, "old");
  {
    const dnabert::test::file_size_limit full(1000);  // the disk takes 1000 bytes of the file, then no more
    CHECK_THROWS_WITH_AS(dnabert::io::write_file_atomically(target, std::string(5000, 'x')),
                         doctest::Contains(("cannot write " + target + ": cannot write to ").c_str()), dnabert::error);
    CHECK_THROWS_WITH_AS(dnabert::io::write_file_atomically(target, std::string(5000, 'x')),
                         doctest::Contains("File too large"), dnabert::error);
  }
  CHECK(read_text(target) == "old");
  CHECK(directory_entries(dir) == std::vector<std::string>{"optimizer.safetensors"});
}

TEST_CASE("atomic_file: temporary files of writers that are gone are removed, those of running ones stay") {
  using dnabert::io::temporary_file_writer;
  CHECK(temporary_file_writer(".curves.svg.tmp-4242-987654") == 4242);
  CHECK(temporary_file_writer(".a.tmp-1-2") == 1);
  for (const char* other : {"curves.svg", ".curves.svg", "curves.svg.tmp-4242-1", ".curves.svg.tmp-4242", ".x.tmp-42-",
                            ".x.tmp--1-2", ".x.tmp-0-2", ".x.tmp-4a-2", ".x.tmp-4-2b", ".tmp-4-2", "checkpoint-4.partial"}) {
    CAPTURE(other);
    CHECK(temporary_file_writer(other) == 0);
  }

  const pid_t gone = ::fork();  // a process that has ended: its pid names no process (until reused)
  REQUIRE(gone >= 0);
  if (gone == 0) ::_exit(0);
  REQUIRE(::waitpid(gone, nullptr, 0) == gone);
  const auto dir = dnabert::test::scratch_dir("atomic-abandoned");
  const std::string abandoned = ".model.safetensors.tmp-" + std::to_string(gone) + "-17";
  const std::string running = ".log.jsonl.tmp-" + std::to_string(::getpid()) + "-18";
  for (const auto& name : {abandoned, running, std::string("model.safetensors")}) dnabert::io::write_file_atomically((dir / name).string(), "x");
  CHECK(dnabert::io::remove_abandoned_temporaries(dir.string()) == 1);
  auto left = directory_entries(dir);
  std::sort(left.begin(), left.end());
  CHECK(left == std::vector<std::string>{running, "model.safetensors"});
}

}  // namespace io_atomic_file_test
