// One writer per output folder: a second lock, from another process, is refused with the holder's
// pid; a lock file left by a killed holder does not block; a clean release leaves nothing behind.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include "dnabert/io/output_lock.hpp"
#include "test_paths.hpp"

namespace io_output_lock_test {

namespace {

using namespace dnabert;

// A child process that locks `folder`, says so on a pipe, and then waits to be killed.
struct lock_holder {
  pid_t pid = -1;

  explicit lock_holder(const std::string& folder) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(ready[0]);
      try {
        const io::output_lock lock(folder);
        const char yes = 'y';
        if (::write(ready[1], &yes, 1) != 1) ::_exit(3);
        for (;;) ::pause();
      } catch (...) {
        ::_exit(2);
      }
    }
    ::close(ready[1]);
    char answer = 0;
    const bool locked = ::read(ready[0], &answer, 1) == 1 && answer == 'y';
    ::close(ready[0]);
    REQUIRE(locked);
  }

  // Kills the holder with SIGKILL: no destructor runs, the lock file stays on disk.
  void kill_hard() {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
  }

  ~lock_holder() {
    if (pid > 0) kill_hard();
  }
};

}  // namespace

TEST_CASE("output_lock: a folder held by another process is refused at once, naming its pid") {
  REQUIRE(io::output_lock::enforced());
  const auto folder = (test::scratch_dir("output_lock_busy") / "run").string();
  lock_holder holder(folder);
  const std::string lock_file = folder + "/.dnabert.lock";
  REQUIRE(std::filesystem::exists(lock_file));
  const std::string pid = std::to_string(holder.pid);
  CHECK_THROWS_WITH_AS(io::output_lock{folder},
                       doctest::Contains(("output folder " + folder + " is in use by another dnabert run (pid " + pid + " on ").c_str()),
                       io::output_busy_error);
  try {
    const io::output_lock refused(folder);
  } catch (const io::output_busy_error& busy) {
    CHECK(busy.holder().starts_with("pid " + pid + " on "));
  }

  // SIGKILL: the holder's lock file stays, but the kernel has let go of the lock.
  holder.kill_hard();
  CHECK(std::filesystem::exists(lock_file));
  {
    const io::output_lock mine(folder);
    std::ifstream in(lock_file);
    std::string written_pid;
    in >> written_pid;
    CHECK(written_pid == std::to_string(::getpid()));
  }
  CHECK_FALSE(std::filesystem::exists(lock_file));  // a clean release removes it
  CHECK(std::filesystem::exists(folder));           // the folder was there before this lock
}

TEST_CASE("output_lock: a second lock in the same process is refused too, and release lets the next in") {
  const auto folder = (test::scratch_dir("output_lock_same_process") / "out").string();
  {
    const io::output_lock first(folder);
    CHECK(first.folder() == folder);
    CHECK_THROWS_WITH_AS(io::output_lock{folder}, doctest::Contains(("(pid " + std::to_string(::getpid()) + " on ").c_str()),
                         io::output_busy_error);
    std::ofstream(folder + "/result.txt") << "written\n";
  }
  const io::output_lock again(folder);
  CHECK(std::filesystem::exists(folder + "/result.txt"));
}

TEST_CASE("output_lock: a folder it created is removed again when nothing was written there") {
  const auto base = test::scratch_dir("output_lock_created");
  const auto folder = (base / "a" / "b").string();
  { const io::output_lock lock(folder); }
  CHECK_FALSE(std::filesystem::exists(folder));
  std::ofstream(base / "file.txt") << "not a folder\n";
  CHECK_THROWS_WITH_AS(io::output_lock{(base / "file.txt" / "x").string()},
                       doctest::Contains("cannot create output folder"), error);
}

}  // namespace io_output_lock_test
