#pragma once
// The CLI's progress displays on stderr: a line redrawn on a terminal, plain lines in logs; one
// for counted work (pieces, windows, mutants), one for training steps.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "job.hpp"

namespace dnabert::cli {

namespace detail {

/// "950", "41.2k", "3.1M": a count or rate short enough for a progress line.
inline std::string short_number(double value) {
  char text[32];
  if (value < 1e3) std::snprintf(text, sizeof text, "%.0f", value);
  else if (value < 1e6) std::snprintf(text, sizeof text, "%.1fk", value / 1e3);
  else std::snprintf(text, sizeof text, "%.1fM", value / 1e6);
  return text;
}

/// "ETA 9s", "ETA 3m12s", "ETA 2h05m" for `remaining` units at `rate` per second; "ETA ?" without a rate.
inline std::string eta_text(double remaining, double rate) {
  const double estimate = rate > 0 ? remaining / rate : 0.0;
  if (!(rate > 0) || !(estimate < 1e9)) return "ETA ?";  // no rate yet, or one so slow it means nothing
  const auto seconds = static_cast<long long>(estimate + 0.5);
  char text[48];
  if (seconds < 60) std::snprintf(text, sizeof text, "ETA %llds", seconds);
  else if (seconds < 3600) std::snprintf(text, sizeof text, "ETA %lldm%02llds", seconds / 60, seconds % 60);
  else std::snprintf(text, sizeof text, "ETA %lldh%02lldm", seconds / 3600, seconds / 60 % 60);
  return text;
}

/// Where and when a progress display draws: on a terminal one line redrawn twice a second, in a
/// log (stderr not a TTY) a plain line every ten seconds, so logs stay readable; jobs done within
/// a second stay quiet; in an MPI job only rank 0 draws. Every display shares it, with its rate
/// and ETA arithmetic.
class progress_output {
 public:
  using clock = std::chrono::steady_clock;

  /// Draws on `out`, redrawing in place when `terminal`; the clock started at `start`.
  explicit progress_output(std::FILE* out = stderr, std::optional<bool> terminal = std::nullopt,
                           clock::time_point start = clock::now())
      : out_(out), terminal_(terminal.value_or(isatty(fileno(out)) != 0)), start_(start), last_(start), finished_(!leads_job()) {}

  /// Seconds since the start.
  [[nodiscard]] double elapsed() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

  /// Units per second since the start, for `done` units.
  [[nodiscard]] double rate(double done) const {
    const double seconds = elapsed();
    return seconds > 0 ? done / seconds : 0.0;
  }

  /// Whether to draw now; the final line is drawn once, if the job was shown or ran a second.
  [[nodiscard]] bool due(bool final) const {
    if (finished_) return false;
    const auto now = clock::now();
    if (!shown_) return now - start_ >= std::chrono::seconds(1);
    return final || now - last_ >= (terminal_ ? std::chrono::milliseconds(500) : std::chrono::milliseconds(10000));
  }

  /// Draws `text`: redrawn over the previous one on a terminal, a line of its own in a log; the
  /// final line ends the display.
  void draw(const std::string& text, bool final) {
    if (terminal_) {
      const std::size_t erase = drawn_width_ > text.size() ? drawn_width_ - text.size() : 0;
      std::fprintf(out_, "\r%s%*s%s", text.c_str(), static_cast<int>(erase), "", final ? "\n" : "");
    } else {
      std::fprintf(out_, "%s\n", text.c_str());
    }
    std::fflush(out_);
    drawn_width_ = text.size();
    shown_ = true;
    finished_ = final;
    last_ = clock::now();
  }

 private:
  std::FILE* out_;
  bool terminal_;
  clock::time_point start_;
  clock::time_point last_;
  std::size_t drawn_width_ = 0;
  bool shown_ = false;
  bool finished_;
};

}  // namespace detail

/// A progress line on stderr ("predict: 1200/4000 pieces, 310 pieces/s, ETA 9s").
class progress_line {
 public:
  /// Starts the clock for a job called `label` counting `unit`s.
  explicit progress_line(std::string label, std::string unit = "pieces",
                         detail::progress_output output = detail::progress_output())
      : label_(std::move(label)), unit_(std::move(unit)), output_(output) {}

  /// Reports `done` of `total` units.
  void operator()(std::size_t done, std::size_t total) {
    const bool final = done >= total;
    if (!output_.due(final)) return;
    const double rate = output_.rate(static_cast<double>(done));
    std::ostringstream text;
    text << label_ << ": " << done << '/' << total << ' ' << unit_ << ", " << detail::short_number(rate) << ' '
         << unit_ << "/s, " << detail::eta_text(static_cast<double>(total - std::min(done, total)), rate);
    output_.draw(text.str(), final);
  }

  /// Reports `done` units of a job whose total is known only at its end (an input read as it
  /// streams): the count and the rate, no ETA. finish() ends the line.
  void running(std::size_t done) {
    if (output_.due(false)) output_.draw(running_text(done), false);
  }

  /// Ends a running count at `done` units.
  void finish(std::size_t done) {
    if (output_.due(true)) output_.draw(running_text(done), true);
  }

 private:
  [[nodiscard]] std::string running_text(std::size_t done) const {
    const double rate = output_.rate(static_cast<double>(done));
    return label_ + ": " + std::to_string(done) + ' ' + unit_ + ", " + detail::short_number(rate) + ' ' + unit_ + "/s";
  }

  std::string label_;
  std::string unit_;
  detail::progress_output output_;
};

/// The progress of work done chunk by chunk over a streamed input: each chunk's (done, total)
/// counted on from the chunks before it, the total unknown until the input ends.
class chunked_progress {
 public:
  /// Starts the clock for a job called `label` counting `unit`s.
  explicit chunked_progress(std::string label, std::string unit = "pieces") : line_(std::move(label), std::move(unit)) {}

  chunked_progress(const chunked_progress&) = delete;
  chunked_progress& operator=(const chunked_progress&) = delete;

  /// Reports (done, total) of the chunk at hand; its last report (done == total) closes it.
  void operator()(std::size_t done, std::size_t total) {
    line_.running(before_ + done);
    if (done >= total) before_ += total;
  }

  /// Ends the display, after the last chunk.
  void finish() { line_.finish(before_); }

 private:
  progress_line line_;
  std::size_t before_ = 0;
};

/// The progress of a training run on stderr
/// ("pretrain: step 1200/4000  loss 5.812  lr 3.1e-04  41.2k tok/s  ETA 3m12s").
class training_progress {
 public:
  /// Starts the clock for a run called `label` whose steps count from `first_step` (a resumed run).
  explicit training_progress(std::string label, std::int64_t first_step = 0,
                             detail::progress_output output = detail::progress_output())
      : label_(std::move(label)), first_step_(first_step), output_(output) {}

  /// Reports the step just done of `total`, its loss and learning rate, and the tokens this run has read.
  void operator()(std::int64_t step, std::int64_t total, double loss, double lr, std::int64_t tokens_done) {
    last_ = report{step, total, loss, lr, tokens_done};
    const bool final = step >= total;
    if (output_.due(final)) output_.draw(text(*last_), final);
  }

  /// Ends the display with the last step reported (a run may stop before its last step).
  void finish() {
    if (last_ && output_.due(true)) output_.draw(text(*last_), true);
  }

 private:
  struct report {
    std::int64_t step, total;
    double loss, lr;
    std::int64_t tokens_done;
  };

  [[nodiscard]] std::string text(const report& r) const {
    const double step_rate = output_.rate(static_cast<double>(r.step - first_step_));
    char numbers[96];
    std::snprintf(numbers, sizeof numbers, "loss %.3f  lr %.1e  ", r.loss, r.lr);
    std::ostringstream line;
    line << label_ << ": step " << r.step << '/' << r.total << "  " << numbers
         << detail::short_number(output_.rate(static_cast<double>(r.tokens_done))) << " tok/s  "
         << detail::eta_text(static_cast<double>(std::max<std::int64_t>(r.total - r.step, 0)), step_rate);
    return line.str();
  }

  std::string label_;
  std::int64_t first_step_;
  detail::progress_output output_;
  std::optional<report> last_;
};

}  // namespace dnabert::cli
