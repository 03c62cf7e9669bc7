#pragma once
// SIGTERM and SIGINT as a stop request for training (run_settings::stop_request): what a cluster's
// scheduler sends before it kills a job, and Ctrl-C. The library installs no signal handler
// unless a program constructs this helper.

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "dnabert/core/error.hpp"

namespace dnabert::train {

namespace detail {

/// What the handler reads and writes: lock-free atomics and a text fixed before installation,
/// which is all a signal handler may touch.
struct signal_stop_state {
  std::atomic<bool> requested{false};
  std::atomic<int> first_signal{0};
  std::atomic<bool> installed{false};  // one helper at a time: the handler has no other state
  std::string notice;                  // written to stderr by the first signal
};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "a signal handler may only touch lock-free atomics");

inline signal_stop_state signal_stop;

/// The handler: the first signal asks for a stop and says so on stderr (write(2) is
/// async-signal-safe); a second one, of either kind, takes the default action at once.
inline void on_stop_signal(int signal_number) {
  const int saved_errno = errno;  // the interrupted code may be about to read it
  int none = 0;
  if (!signal_stop.first_signal.compare_exchange_strong(none, signal_number)) {
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    ::sigemptyset(&fallback.sa_mask);
    ::sigaction(signal_number, &fallback, nullptr);
    ::raise(signal_number);  // pending until this handler returns, then ends the process
    return;
  }
  signal_stop.requested.store(true);  // after first_signal: whoever sees the request sees the signal
  const std::string_view text = signal_stop.notice;
  if (!text.empty()) {
    const ::ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
    (void)written;  // nothing to do in a handler when stderr is gone
  }
  errno = saved_errno;
}

}  // namespace detail

/// While it lives, SIGTERM and SIGINT request a stop instead of ending the process: pass
/// request() as run_settings::stop_request, and the run stops after its current step with a
/// checkpoint. A second signal ends the process at once (the default action: a shell reports
/// 128 + the signal). A signal the process was started ignoring (nohup, a script's background
/// job) stays ignored. The previous handlers come back on destruction. One instance at a time.
class stop_on_signals {
 public:
  /// Installs the handlers; `notice` is written to stderr when the first signal arrives.
  explicit stop_on_signals(std::string notice = {}) {
    if (detail::signal_stop.installed.exchange(true))
      throw error("stop_on_signals: another instance is installed (signals have one handler per process)");
    detail::signal_stop.notice = std::move(notice);
    detail::signal_stop.requested.store(false);
    detail::signal_stop.first_signal.store(0);
    for (std::size_t i = 0; i < signals.size(); ++i) {
      struct sigaction handler {};
      handler.sa_handler = detail::on_stop_signal;
      ::sigemptyset(&handler.sa_mask);
      for (const int other : signals) ::sigaddset(&handler.sa_mask, other);  // one handler runs at a time
      handler.sa_flags = SA_RESTART;  // reads and writes in progress carry on
      if (::sigaction(signals[i], nullptr, &previous_[i]) != 0) continue;
      if (previous_[i].sa_handler == SIG_IGN) continue;
      installed_[i] = ::sigaction(signals[i], &handler, nullptr) == 0;
    }
  }

  stop_on_signals(const stop_on_signals&) = delete;
  stop_on_signals& operator=(const stop_on_signals&) = delete;

  /// Puts the previous handlers back.
  ~stop_on_signals() {
    for (std::size_t i = 0; i < signals.size(); ++i)
      if (installed_[i]) ::sigaction(signals[i], &previous_[i], nullptr);
    detail::signal_stop.installed.store(false);
  }

  /// The flag the handlers set, for run_settings::stop_request.
  [[nodiscard]] const std::atomic<bool>* request() const noexcept { return &detail::signal_stop.requested; }

  /// The first signal received (SIGTERM or SIGINT), 0 while none was.
  [[nodiscard]] int received() const noexcept { return detail::signal_stop.first_signal.load(); }

  /// Whether the handler for `signal_number` is installed (false when it was ignored at start).
  [[nodiscard]] bool handles(int signal_number) const noexcept {
    for (std::size_t i = 0; i < signals.size(); ++i)
      if (signals[i] == signal_number) return installed_[i];
    return false;
  }

  /// The signals handled.
  static constexpr std::array<int, 2> signals{SIGTERM, SIGINT};

 private:
  std::array<struct sigaction, 2> previous_{};
  std::array<bool, 2> installed_{};
};

}  // namespace dnabert::train
