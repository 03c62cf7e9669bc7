// SIGTERM and SIGINT as a training stop request: the first asks, a second ends the process at
// once, an ignored signal stays ignored, and the old handlers come back.
#include "dnabert/train/stop_on_signals.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

namespace train_stop_on_signals_test {

namespace {

namespace train = dnabert::train;

// The handler installed for `signal_number` now (doctest's own, while a case runs).
void (*handler_of(int signal_number))(int) {
  struct sigaction current {};
  ::sigaction(signal_number, nullptr, &current);
  return current.sa_handler;
}

// The wait status of a child process that runs `body` and then exits 0.
template <class Body>
int status_of_child(Body&& body) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    body();
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return status;
}

}  // namespace

TEST_CASE("stop_on_signals: the first SIGTERM or SIGINT requests a stop, and the old handlers come back after") {
  const auto term_before = handler_of(SIGTERM);
  const auto int_before = handler_of(SIGINT);
  for (const int signal_number : {SIGTERM, SIGINT}) {
    CAPTURE(signal_number);
    {
      const train::stop_on_signals signals;
      CHECK(signals.handles(SIGTERM));
      CHECK(signals.handles(SIGINT));
      CHECK_FALSE(signals.request()->load());
      CHECK(signals.received() == 0);
      ::raise(signal_number);  // delivered before raise returns
      CHECK(signals.request()->load());
      CHECK(signals.received() == signal_number);
      CHECK_THROWS_WITH_AS(train::stop_on_signals(), doctest::Contains("another instance is installed"), dnabert::error);
    }
    CHECK((handler_of(SIGTERM) == term_before));  // parenthesised: doctest cannot print function pointers
    CHECK((handler_of(SIGINT) == int_before));
  }
}

TEST_CASE("stop_on_signals: a second signal ends the process at once") {
  const auto second = [](int first, int then) {
    return status_of_child([&] {
      const train::stop_on_signals signals;
      ::raise(first);
      if (!signals.request()->load()) ::_exit(3);
      ::raise(then);  // the default action: the process ends here
      ::_exit(4);
    });
  };
  for (const auto& [first, then] : {std::pair{SIGTERM, SIGTERM}, std::pair{SIGINT, SIGINT}, std::pair{SIGTERM, SIGINT}}) {
    const int status = second(first, then);
    CAPTURE(status);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == then);
  }
}

TEST_CASE("stop_on_signals: a signal ignored at start (nohup, a script's background job) stays ignored") {
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  ::sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGINT, &ignore, &previous);
  {
    const train::stop_on_signals signals;
    CHECK_FALSE(signals.handles(SIGINT));
    CHECK(signals.handles(SIGTERM));
    ::raise(SIGINT);
    CHECK_FALSE(signals.request()->load());
  }
  CHECK((handler_of(SIGINT) == SIG_IGN));
  ::sigaction(SIGINT, &previous, nullptr);
}

}  // namespace train_stop_on_signals_test
