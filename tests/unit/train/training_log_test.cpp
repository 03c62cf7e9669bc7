// curves.svg's series: the noisy per-step training loss, its windowed means, evaluations.
#include "dnabert/train/training_log.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

namespace train_training_log_test {

TEST_CASE("training curves: a long run's loss is drawn smoothed over windows beside the faint per-step loss") {
  dnabert::train::training_summary run;
  // a slow trend from 8 to 6 under step-to-step noise of +-1 (as masked-LM batches give)
  const auto trend = [](double step) { return 8.0 - 2.0 * step / 2000.0; };
  for (int step = 1; step <= 2000; ++step)
    run.train_loss.emplace_back(step, trend(step) + (step % 2 == 0 ? 1.0 : -1.0));
  run.evaluations.push_back({1000, 7.2, {}, -7.2});
  const auto chart = dnabert::train::detail::training_curves(run, "pretrain", "");
  REQUIRE(chart.series.size() == 3);
  CHECK(chart.series[0].points.size() == 2000);  // every step, faint
  const auto& smoothed = chart.series[1];
  CHECK(smoothed.name == "train loss, mean of 20 steps");
  REQUIRE(smoothed.points.size() == 100);
  for (const auto& point : smoothed.points) CHECK(point.second == doctest::Approx(trend(point.first)).epsilon(1e-9));
  CHECK(chart.series[2].name == "eval loss");
  CHECK(chart.series[0].color != smoothed.color);
}

TEST_CASE("training curves: a short run keeps its per-step loss as it is") {
  dnabert::train::training_summary run;
  for (int step = 1; step <= 19; ++step) run.train_loss.emplace_back(step, std::sqrt(static_cast<double>(step)));
  const auto chart = dnabert::train::detail::training_curves(run, "finetune", "auc");
  REQUIRE(chart.series.size() == 1);  // no evaluations: no eval series either
  CHECK(chart.series[0].name == "train loss");
  CHECK(chart.series[0].points == run.train_loss);
  CHECK(dnabert::train::detail::smoothing_window(20) == 10);
  CHECK(dnabert::train::detail::smoothing_window(200000) == 2000);
}

}  // namespace train_training_log_test
