// The CLI's progress displays: plain lines in logs, a redrawn line on a terminal, quiet short
// jobs, and the training line's step, loss, lr, tokens/s and ETA.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "../../../examples/cli/progress.hpp"

namespace cli_progress_test {

namespace {

using namespace dnabert::cli;
using namespace std::chrono_literals;
using clock_type = detail::progress_output::clock;

/// A temporary file standing in for stderr, read back whole.
class captured_stream {
 public:
  captured_stream() : file_(std::tmpfile(), &std::fclose) { REQUIRE(file_ != nullptr); }
  [[nodiscard]] std::FILE* get() const { return file_.get(); }
  [[nodiscard]] std::string text() const {
    std::fflush(file_.get());
    std::rewind(file_.get());
    std::string text;
    for (int c = std::fgetc(file_.get()); c != EOF; c = std::fgetc(file_.get())) text += static_cast<char>(c);
    return text;
  }

 private:
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
};

}  // namespace

TEST_CASE("progress: in a log, plain lines at most every ten seconds and a final line, never a carriage return") {
  captured_stream log;
  progress_line progress("predict", "pieces", detail::progress_output(log.get(), false, clock_type::now() - 5s));
  progress(10, 40);
  progress(20, 40);  // within ten seconds of the last line
  progress(40, 40);
  progress(40, 40);  // the display has ended
  CHECK(log.text() == "predict: 10/40 pieces, 2 pieces/s, ETA 15s\npredict: 40/40 pieces, 8 pieces/s, ETA 0s\n");
}

TEST_CASE("progress: on a terminal the line is redrawn in place and ended by the final one") {
  captured_stream terminal;
  progress_line progress("embed", "pieces", detail::progress_output(terminal.get(), true, clock_type::now() - 2s));
  progress(1000, 3000);
  progress(3000, 3000);
  CHECK(terminal.text() ==
        "\rembed: 1000/3000 pieces, 500 pieces/s, ETA 4s\rembed: 3000/3000 pieces, 1.5k pieces/s, ETA 0s\n");
}

TEST_CASE("progress: jobs done within a second stay quiet") {
  captured_stream log;
  progress_line progress("predict", "pieces", detail::progress_output(log.get(), false));
  progress(1, 2);
  progress(2, 2);
  training_progress training("finetune", 0, detail::progress_output(log.get(), false));
  training(1, 1, 0.5, 1e-4, 100);
  training.finish();
  CHECK(log.text().empty());
}

TEST_CASE("progress: the training line shows step, loss, lr, tokens/s and the ETA of a resumed run") {
  captured_stream log;
  training_progress training("pretrain", 1000, detail::progress_output(log.get(), false, clock_type::now() - 100s));
  training.finish();  // nothing reported yet
  training(1200, 4000, 5.8123, 3.1e-4, 4'120'000);
  training(1300, 4000, 5.5, 3.0e-4, 6'180'000);  // within ten seconds: kept for finish()
  training.finish();
  training.finish();
  CHECK(log.text() ==
        "pretrain: step 1200/4000  loss 5.812  lr 3.1e-04  41.2k tok/s  ETA 23m20s\n"
        "pretrain: step 1300/4000  loss 5.500  lr 3.0e-04  61.8k tok/s  ETA 15m00s\n");
}

TEST_CASE("progress: ETA in seconds, minutes or hours, unknown without a rate") {
  CHECK(detail::eta_text(9, 1) == "ETA 9s");
  CHECK(detail::eta_text(192, 1) == "ETA 3m12s");
  CHECK(detail::eta_text(7500, 1) == "ETA 2h05m");
  CHECK(detail::eta_text(5, 0) == "ETA ?");
  CHECK(detail::eta_text(5, 1e-300) == "ETA ?");
  CHECK(detail::short_number(3.1e6) == "3.1M");
}

}  // namespace cli_progress_test
