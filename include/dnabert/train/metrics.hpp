#pragma once
// Classification metrics for fine-tuning and evaluation, with scikit-learn's semantics (the
// functions DNABERT's acc_f1_mcc_auc_aupr_pre_rec calls), and a report picked from by name;
// multi-label ones (per-label and macro/micro AUROC, AUPRC, F1) in a report of their own.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/core/error.hpp"

namespace dnabert::train {

namespace detail {

/// Counts of one class over a labelled set: how often it is the label, how often it is
/// predicted, and how often both at once.
struct class_tally {
  int label = 0;
  std::size_t as_label = 0;
  std::size_t as_predicted = 0;
  std::size_t correct = 0;
};

// Every metric needs at least one sample and one prediction per label.
inline void check_pairs(std::string_view metric, std::span<const int> labels, std::span<const int> predicted) {
  if (labels.size() != predicted.size()) {
    throw input_error(std::string(metric) + ": labels has " + std::to_string(labels.size()) +
                      " values but predicted has " + std::to_string(predicted.size()));
  }
  if (labels.empty()) throw input_error(std::string(metric) + ": no samples (labels and predicted are empty)");
}

// sklearn raises on NaN and infinity rather than ranking them.
inline void check_scores(std::string_view metric, std::span<const double> scores) {
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      throw input_error(std::string(metric) + ": score " + std::to_string(i) + " is not finite (" +
                        std::to_string(scores[i]) + ")");
    }
  }
}

// Probabilities are [samples, classes] row-major; divided, not multiplied, so it cannot overflow.
inline void check_probability_shape(std::string_view metric, std::size_t samples, std::size_t values,
                                    std::size_t classes) {
  if (values / classes != samples || values % classes != 0) {
    throw input_error(std::string(metric) + ": probabilities has " + std::to_string(values) + " values but " +
                      std::to_string(samples) + " samples x " + std::to_string(classes) + " classes need " +
                      std::to_string(samples) + "x" + std::to_string(classes));
  }
}

// One entry per class occurring in labels or predictions, sorted by class (sklearn's
// unique_labels). No confusion matrix: many distinct labels must not cost classes² memory.
inline std::vector<class_tally> tally_classes(std::string_view metric, std::span<const int> labels,
                                              std::span<const int> predicted) {
  check_pairs(metric, labels, predicted);
  std::vector<int> classes(labels.begin(), labels.end());
  classes.insert(classes.end(), predicted.begin(), predicted.end());
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  std::vector<class_tally> tallies(classes.size());
  for (std::size_t c = 0; c < classes.size(); ++c) tallies[c].label = classes[c];
  const auto slot = [&](int value) -> class_tally& {
    return tallies[static_cast<std::size_t>(std::lower_bound(classes.begin(), classes.end(), value) - classes.begin())];
  };
  for (std::size_t i = 0; i < labels.size(); ++i) {
    ++slot(labels[i]).as_label;
    ++slot(predicted[i]).as_predicted;
    if (labels[i] == predicted[i]) ++slot(labels[i]).correct;
  }
  return tallies;
}

// sklearn's zero_division=0: a ratio with nothing to count is 0.
inline double ratio_or_zero(double numerator, double denominator) {
  return denominator == 0 ? 0.0 : numerator / denominator;
}

inline double class_precision(const class_tally& t) {
  return ratio_or_zero(static_cast<double>(t.correct), static_cast<double>(t.as_predicted));
}
inline double class_recall(const class_tally& t) {
  return ratio_or_zero(static_cast<double>(t.correct), static_cast<double>(t.as_label));
}
inline double class_f1(const class_tally& t) {
  return ratio_or_zero(2.0 * static_cast<double>(t.correct), static_cast<double>(t.as_label + t.as_predicted));
}

inline std::string join_classes(const std::vector<class_tally>& tallies) {
  std::string out;
  for (const auto& t : tallies) out += (out.empty() ? "" : ", ") + std::to_string(t.label);
  return out;
}

// The tally of class 1 under sklearn's average="binary" rules: at most two classes in
// labels and predictions together, and class 1 among them when there are two.
inline class_tally positive_tally(std::string_view metric, std::span<const int> labels, std::span<const int> predicted) {
  const auto tallies = tally_classes(metric, labels, predicted);
  const auto positive = std::find_if(tallies.begin(), tallies.end(), [](const class_tally& t) { return t.label == 1; });
  if (tallies.size() > 2) {
    throw input_error(std::string(metric) + ": labels and predictions hold " + std::to_string(tallies.size()) +
                      " classes (" + join_classes(tallies) +
                      ") but the binary metric needs at most 2; use the macro average");
  }
  if (positive == tallies.end()) {
    if (tallies.size() == 2) {
      throw input_error(std::string(metric) + ": positive class 1 does not occur; the classes are " +
                        join_classes(tallies));
    }
    return class_tally{1, 0, 0, 0};
  }
  return *positive;
}

template <class PerClass>
double macro_average(std::string_view metric, std::span<const int> labels, std::span<const int> predicted,
                     PerClass per_class) {
  const auto tallies = tally_classes(metric, labels, predicted);
  double sum = 0;
  for (const auto& t : tallies) sum += per_class(t);
  return sum / static_cast<double>(tallies.size());
}

/// A point of the ROC / precision-recall curve: counts of negatives and positives scored at
/// or above one distinct threshold.
struct curve_point {
  double false_positives = 0;
  double true_positives = 0;
};

// sklearn's _binary_clf_curve: one point per distinct score, highest first, so tied scores
// move together (the trapezoid through a tie is what gives it half credit).
inline std::vector<curve_point> binary_curve(std::string_view metric, std::span<const int> labels,
                                             std::span<const double> scores) {
  if (labels.size() != scores.size()) {
    throw input_error(std::string(metric) + ": labels has " + std::to_string(labels.size()) +
                      " values but scores has " + std::to_string(scores.size()));
  }
  if (labels.empty()) throw input_error(std::string(metric) + ": no samples (labels and scores are empty)");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      throw input_error(std::string(metric) + ": label " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                        " but a binary score metric needs labels 0 or 1");
    }
  }
  check_scores(metric, scores);
  std::vector<std::size_t> order(labels.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  std::vector<curve_point> curve;
  curve_point running;
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const std::size_t i = order[rank];
    (labels[i] == 1 ? running.true_positives : running.false_positives) += 1;
    const bool last_of_threshold = rank + 1 == order.size() || scores[order[rank + 1]] != scores[i];
    if (last_of_threshold) curve.push_back(running);
  }
  return curve;
}

/// The value of metric `name` among `names` (input_error naming the known ones when it is not one).
template <std::size_t N>
std::optional<double> lookup_metric(const std::array<std::string_view, N>& names,
                                    const std::array<std::optional<double>, N>& values, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == name) return values[i];
  std::string known;
  for (const auto known_name : names) known += (known.empty() ? "" : ", ") + std::string(known_name);
  throw input_error("unknown metric '" + std::string(name) + "'; known metrics: " + known);
}

/// `found`, or input_error saying why metric `name` is empty (`what` the evaluation, `notes` the reasons).
inline double available_metric(const std::optional<double>& found, std::string_view name, const std::string& what,
                               const std::vector<std::string>& notes) {
  if (found) return *found;
  std::string why;
  for (const auto& note : notes) why += "; " + note;
  throw input_error("metric '" + std::string(name) + "' is not available for this evaluation (" + what + why + ")");
}

}  // namespace detail

/// Fraction of samples whose prediction equals the label.
inline double accuracy(std::span<const int> labels, std::span<const int> predicted) {
  detail::check_pairs("accuracy", labels, predicted);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) correct += labels[i] == predicted[i] ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

/// Precision of class 1 (sklearn average="binary", zero_division=0); throws input_error when
/// more than two classes occur, or two without class 1.
inline double precision(std::span<const int> labels, std::span<const int> predicted) {
  return detail::class_precision(detail::positive_tally("precision", labels, predicted));
}

/// Recall of class 1 (sklearn average="binary", zero_division=0); same class rules as precision.
inline double recall(std::span<const int> labels, std::span<const int> predicted) {
  return detail::class_recall(detail::positive_tally("recall", labels, predicted));
}

/// F1 of class 1 (sklearn average="binary", zero_division=0); same class rules as precision.
inline double f1(std::span<const int> labels, std::span<const int> predicted) {
  return detail::class_f1(detail::positive_tally("f1", labels, predicted));
}

/// Unweighted mean of per-class precision over every class in labels or predictions
/// (sklearn average="macro", zero_division=0).
inline double precision_macro(std::span<const int> labels, std::span<const int> predicted) {
  return detail::macro_average("precision_macro", labels, predicted, detail::class_precision);
}

/// Unweighted mean of per-class recall (sklearn average="macro", zero_division=0).
inline double recall_macro(std::span<const int> labels, std::span<const int> predicted) {
  return detail::macro_average("recall_macro", labels, predicted, detail::class_recall);
}

/// Unweighted mean of per-class F1 (sklearn average="macro", zero_division=0).
inline double f1_macro(std::span<const int> labels, std::span<const int> predicted) {
  return detail::macro_average("f1_macro", labels, predicted, detail::class_f1);
}

/// Matthews correlation coefficient, binary or multi-class (sklearn's covariance formula);
/// 0 when labels or predictions hold a single class, as sklearn returns.
inline double matthews_corrcoef(std::span<const int> labels, std::span<const int> predicted) {
  const auto tallies = detail::tally_classes("matthews_corrcoef", labels, predicted);
  const auto samples = static_cast<double>(labels.size());
  double correct = 0;
  double label_dot_predicted = 0;
  double predicted_dot_predicted = 0;
  double label_dot_label = 0;
  for (const auto& t : tallies) {
    const auto as_label = static_cast<double>(t.as_label);
    const auto as_predicted = static_cast<double>(t.as_predicted);
    correct += static_cast<double>(t.correct);
    label_dot_predicted += as_label * as_predicted;
    predicted_dot_predicted += as_predicted * as_predicted;
    label_dot_label += as_label * as_label;
  }
  const double covariance = correct * samples - label_dot_predicted;
  const double variance_product = (samples * samples - predicted_dot_predicted) * (samples * samples - label_dot_label);
  return variance_product == 0 ? 0.0 : covariance / std::sqrt(variance_product);
}

/// Area under the ROC curve of scores for class 1 (labels 0 or 1), trapezoidal over distinct
/// thresholds as sklearn's roc_auc_score; throws input_error when only one class occurs.
inline double roc_auc(std::span<const int> labels, std::span<const double> scores) {
  const auto curve = detail::binary_curve("roc_auc", labels, scores);
  const double positives = curve.back().true_positives;
  const double negatives = curve.back().false_positives;
  if (positives == 0 || negatives == 0) {
    throw input_error(std::string("roc_auc: only class ") + (positives == 0 ? "0" : "1") +
                      " occurs in labels; ROC AUC is not defined");
  }
  // Twice the area in count units: exact integer sums until the single division.
  double twice_area = 0;
  detail::curve_point previous;
  for (const auto& point : curve) {
    twice_area += (point.false_positives - previous.false_positives) * (point.true_positives + previous.true_positives);
    previous = point;
  }
  return twice_area / (2.0 * positives * negatives);
}

/// Average precision of scores for class 1 (labels 0 or 1): sum over thresholds of recall
/// gained times precision, not interpolated (sklearn's average_precision_score); 0 when no
/// label is 1, as sklearn returns.
inline double average_precision(std::span<const int> labels, std::span<const double> scores) {
  const auto curve = detail::binary_curve("average_precision", labels, scores);
  const double positives = curve.back().true_positives;
  if (positives == 0) return 0.0;
  double sum = 0;
  double previous_true_positives = 0;
  for (const auto& point : curve) {
    const double precision_here = point.true_positives / (point.true_positives + point.false_positives);
    sum += (point.true_positives - previous_true_positives) / positives * precision_here;
    previous_true_positives = point.true_positives;
  }
  return sum;
}

/// One-vs-one macro ROC AUC over probabilities [N, num_classes] row-major (sklearn
/// roc_auc_score(multi_class="ovo", average="macro")); with 2 classes, the binary AUC of
/// column 1. Labels must lie in 0..num_classes-1, every class must occur, and each row must
/// sum to 1 (sklearn's tolerance); otherwise input_error.
inline double roc_auc_ovo(std::span<const int> labels, std::span<const double> probabilities, int num_classes) {
  if (num_classes < 2) {
    throw input_error("roc_auc_ovo: num_classes is " + std::to_string(num_classes) + " but must be at least 2");
  }
  const auto classes = static_cast<std::size_t>(num_classes);
  if (labels.empty()) throw input_error("roc_auc_ovo: no samples (labels are empty)");
  detail::check_probability_shape("roc_auc_ovo", labels.size(), probabilities.size(), classes);
  detail::check_scores("roc_auc_ovo", probabilities);
  std::vector<std::size_t> class_counts(classes, 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      throw input_error("roc_auc_ovo: label " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                        " but must lie in 0.." + std::to_string(num_classes - 1));
    }
    ++class_counts[static_cast<std::size_t>(labels[i])];
  }
  const auto column = [&](std::size_t c, const std::vector<std::size_t>& rows) {
    std::vector<double> out(rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) out[r] = probabilities[rows[r] * classes + c];
    return out;
  };
  if (classes == 2) {
    std::vector<std::size_t> all_rows(labels.size());
    std::iota(all_rows.begin(), all_rows.end(), std::size_t{0});
    return roc_auc(labels, column(1, all_rows));
  }
  for (std::size_t c = 0; c < classes; ++c) {
    if (class_counts[c] == 0) {
      throw input_error("roc_auc_ovo: class " + std::to_string(c) + " never occurs in labels; one-vs-one ROC AUC over " +
                        std::to_string(num_classes) + " classes needs every class");
    }
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    double row_sum = 0;
    for (std::size_t c = 0; c < classes; ++c) row_sum += probabilities[i * classes + c];
    if (std::abs(1.0 - row_sum) > 1e-8 + 1e-5 * std::abs(row_sum)) {  // numpy.allclose(1, sum)
      throw input_error("roc_auc_ovo: row " + std::to_string(i) + " of probabilities sums to " +
                        std::to_string(row_sum) + " but must sum to 1 (pass softmax probabilities)");
    }
  }
  double pair_sum = 0;
  std::size_t pairs = 0;
  for (std::size_t a = 0; a < classes; ++a) {
    for (std::size_t b = a + 1; b < classes; ++b) {
      std::vector<std::size_t> rows;
      std::vector<int> is_a;
      for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto label = static_cast<std::size_t>(labels[i]);
        if (label == a || label == b) {
          rows.push_back(i);
          is_a.push_back(label == a ? 1 : 0);
        }
      }
      std::vector<int> is_b(is_a.size());
      std::transform(is_a.begin(), is_a.end(), is_b.begin(), [](int x) { return 1 - x; });
      pair_sum += (roc_auc(is_a, column(a, rows)) + roc_auc(is_b, column(b, rows))) / 2;
      ++pairs;
    }
  }
  return pair_sum / static_cast<double>(pairs);
}

/// Names accepted by metrics_report::value, in the order to_json writes them.
inline constexpr std::array<std::string_view, 10> metric_names = {
    "acc", "precision", "recall", "f1", "precision_macro", "recall_macro", "f1_macro", "mcc", "auc", "aupr"};

/// Every metric of one evaluation, as DNABERT's acc_f1_mcc_auc_aupr_pre_rec (binary) and
/// acc_f1_mcc_auc_pre_rec (macro) return them. Metrics that do not apply are empty, with the
/// reason in notes.
struct metrics_report {
  std::size_t samples = 0;
  int num_classes = 0;
  double acc = 0;
  double precision_macro = 0;
  double recall_macro = 0;
  double f1_macro = 0;
  double mcc = 0;
  /// Positive-class (1) metrics; only with 2 classes.
  std::optional<double> precision, recall, f1;
  /// Binary ROC AUC on P(class 1), or one-vs-one macro AUC; empty when a class is missing from labels.
  std::optional<double> auc;
  /// Average precision on P(class 1); only with 2 classes.
  std::optional<double> aupr;
  /// Why a metric is empty.
  std::vector<std::string> notes;

  /// The metric called `name` (one of metric_names); input_error for an unknown or empty one.
  [[nodiscard]] double value(std::string_view name) const {
    return detail::available_metric(lookup(name), name, std::to_string(num_classes) + " classes", notes);
  }

  /// {"samples", "num_classes", each metric by name (null when empty), "notes"}.
  [[nodiscard]] nlohmann::json to_json() const {
    nlohmann::json out = {{"samples", samples}, {"num_classes", num_classes}};
    for (const auto name : metric_names) {
      const auto found = lookup(name);
      out[std::string(name)] = found ? nlohmann::json(*found) : nlohmann::json(nullptr);
    }
    out["notes"] = notes;
    return out;
  }

 private:
  [[nodiscard]] std::optional<double> lookup(std::string_view name) const {
    return detail::lookup_metric(metric_names, {acc, precision, recall, f1, precision_macro, recall_macro, f1_macro, mcc, auc, aupr},
                                 name);
  }
};

/// Every metric in one call, from labels and predictions in 0..num_classes-1 and softmax
/// probabilities [N, num_classes] row-major (binary scores are column 1).
inline metrics_report compute_metrics(std::span<const int> labels, std::span<const int> predicted,
                                      std::span<const double> probabilities, int num_classes) {
  if (num_classes < 2) {
    throw input_error("metrics: num_classes is " + std::to_string(num_classes) +
                      " but classification metrics need at least 2");
  }
  detail::check_pairs("metrics", labels, predicted);
  for (const auto& [values, what] : {std::pair{labels, "label"}, std::pair{predicted, "prediction"}}) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values[i] < 0 || values[i] >= num_classes) {
        throw input_error(std::string("metrics: ") + what + " " + std::to_string(i) + " is " +
                          std::to_string(values[i]) + " but must lie in 0.." + std::to_string(num_classes - 1));
      }
    }
  }
  const auto classes = static_cast<std::size_t>(num_classes);
  detail::check_probability_shape("metrics", labels.size(), probabilities.size(), classes);
  metrics_report report;
  report.samples = labels.size();
  report.num_classes = num_classes;
  report.acc = accuracy(labels, predicted);
  report.precision_macro = precision_macro(labels, predicted);
  report.recall_macro = recall_macro(labels, predicted);
  report.f1_macro = f1_macro(labels, predicted);
  report.mcc = matthews_corrcoef(labels, predicted);
  std::vector<bool> occurs(classes, false);
  for (const int label : labels) occurs[static_cast<std::size_t>(label)] = true;
  const auto missing = std::find(occurs.begin(), occurs.end(), false);
  if (missing == occurs.end()) {
    report.auc = roc_auc_ovo(labels, probabilities, num_classes);
  } else {
    report.notes.push_back("auc: class " + std::to_string(missing - occurs.begin()) +
                           " never occurs in labels, so ROC AUC is not defined");
  }
  if (num_classes == 2) {
    report.precision = precision(labels, predicted);
    report.recall = recall(labels, predicted);
    report.f1 = f1(labels, predicted);
    std::vector<double> positive_scores(labels.size());
    for (std::size_t i = 0; i < labels.size(); ++i) positive_scores[i] = probabilities[2 * i + 1];
    report.aupr = average_precision(labels, positive_scores);
  } else {
    report.notes.push_back("precision, recall, f1, aupr: binary metrics need 2 classes; use the _macro ones");
  }
  return report;
}

/// Names accepted by multi_label_report::value, in the order to_json writes them.
inline constexpr std::array<std::string_view, 7> multi_label_metric_names = {
    "auc", "aupr", "auc_micro", "aupr_micro", "acc", "f1_macro", "f1_micro"};

/// One label's metrics in a multi-label evaluation.
struct label_metrics {
  std::size_t positives = 0;   ///< samples with this label
  std::optional<double> auc;   ///< ROC AUC; empty when the label has a single class in the data
  std::optional<double> aupr;  ///< average precision; empty when no sample has the label
  double f1 = 0;               ///< F1 of the label predicted at probability > threshold (zero_division=0)
};

/// The metrics of a multi-label evaluation (scikit-learn's, on label indicator matrices). Macro
/// averages run over the labels where the metric is defined (the others are noted), micro ones
/// over every (sample, label) cell; a metric defined nowhere is empty.
struct multi_label_report {
  std::size_t samples = 0;
  int num_labels = 0;
  double threshold = 0.5;           ///< a label is predicted when its probability is above this
  std::optional<double> auc;        ///< macro ROC AUC
  std::optional<double> aupr;       ///< macro average precision
  std::optional<double> auc_micro;  ///< roc_auc_score(average="micro")
  std::optional<double> aupr_micro; ///< average_precision_score(average="micro")
  double acc = 0;                   ///< subset accuracy: every label of the sample right (accuracy_score)
  double f1_macro = 0;              ///< f1_score(average="macro", zero_division=0), every label counted
  double f1_micro = 0;              ///< f1_score(average="micro", zero_division=0)
  std::vector<label_metrics> per_label;
  std::vector<std::string> notes;   ///< why a metric is empty or leaves labels out

  /// The metric called `name` (one of multi_label_metric_names); input_error for an unknown or empty one.
  [[nodiscard]] double value(std::string_view name) const {
    return detail::available_metric(lookup(name), name, std::to_string(num_labels) + " labels, multi-label", notes);
  }

  /// {"samples", "num_labels", "problem_type", "threshold", each metric by name (null when empty),
  /// "per_label": [{"label", "positives", "auc", "aupr", "f1"}], "notes"}.
  [[nodiscard]] nlohmann::json to_json() const {
    const auto optional = [](const std::optional<double>& x) { return x ? nlohmann::json(*x) : nlohmann::json(nullptr); };
    nlohmann::json out = {{"samples", samples},
                          {"num_labels", num_labels},
                          {"problem_type", "multi_label_classification"},
                          {"threshold", threshold}};
    for (const auto name : multi_label_metric_names) out[std::string(name)] = optional(lookup(name));
    nlohmann::json labels = nlohmann::json::array();
    for (std::size_t l = 0; l < per_label.size(); ++l)
      labels.push_back({{"label", l},
                        {"positives", per_label[l].positives},
                        {"auc", optional(per_label[l].auc)},
                        {"aupr", optional(per_label[l].aupr)},
                        {"f1", per_label[l].f1}});
    out["per_label"] = std::move(labels);
    out["notes"] = notes;
    return out;
  }

 private:
  [[nodiscard]] std::optional<double> lookup(std::string_view name) const {
    return detail::lookup_metric(multi_label_metric_names, {auc, aupr, auc_micro, aupr_micro, acc, f1_macro, f1_micro}, name);
  }
};

/// Multi-label metrics from 0/1 labels and probabilities, both [N, num_labels] row-major; a label
/// is predicted when its probability is above `threshold`.
inline multi_label_report compute_multi_label_metrics(std::span<const int> labels, std::span<const double> probabilities,
                                                      int num_labels, double threshold = 0.5) {
  if (num_labels < 1) throw input_error("multi-label metrics: num_labels is " + std::to_string(num_labels) + ", must be at least 1");
  const auto width = static_cast<std::size_t>(num_labels);
  if (labels.empty()) throw input_error("multi-label metrics: no samples (labels are empty)");
  if (labels.size() % width != 0)
    throw input_error("multi-label metrics: labels has " + std::to_string(labels.size()) + " values, not a multiple of " +
                      std::to_string(num_labels) + " labels");
  const std::size_t samples = labels.size() / width;
  if (probabilities.size() != labels.size())
    throw input_error("multi-label metrics: probabilities has " + std::to_string(probabilities.size()) + " values but " +
                      std::to_string(samples) + " samples x " + std::to_string(num_labels) + " labels need " +
                      std::to_string(labels.size()));
  detail::check_scores("multi-label metrics", probabilities);
  multi_label_report report;
  report.samples = samples;
  report.num_labels = num_labels;
  report.threshold = threshold;
  std::vector<int> predicted(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) predicted[i] = probabilities[i] > threshold ? 1 : 0;
  std::size_t all_right = 0;
  for (std::size_t s = 0; s < samples; ++s)
    all_right += std::equal(labels.begin() + static_cast<std::ptrdiff_t>(s * width),
                            labels.begin() + static_cast<std::ptrdiff_t>((s + 1) * width),
                            predicted.begin() + static_cast<std::ptrdiff_t>(s * width)) ? 1 : 0;
  report.acc = static_cast<double>(all_right) / static_cast<double>(samples);
  std::string single_class, no_positives;
  double auc_sum = 0, aupr_sum = 0, f1_sum = 0;
  std::size_t auc_count = 0, aupr_count = 0;
  detail::class_tally overall{1, 0, 0, 0};
  std::vector<int> column_labels(samples);
  std::vector<double> column_scores(samples);
  for (std::size_t l = 0; l < width; ++l) {
    detail::class_tally tally{1, 0, 0, 0};
    for (std::size_t s = 0; s < samples; ++s) {
      const std::size_t i = s * width + l;
      column_labels[s] = labels[i];
      column_scores[s] = probabilities[i];
      if (labels[i] != 0 && labels[i] != 1)
        throw input_error("multi-label metrics: label " + std::to_string(l) + " of sample " + std::to_string(s) + " is " +
                          std::to_string(labels[i]) + ", not 0 or 1");
      tally.as_label += static_cast<std::size_t>(labels[i]);
      tally.as_predicted += static_cast<std::size_t>(predicted[i]);
      tally.correct += static_cast<std::size_t>(labels[i] & predicted[i]);
    }
    overall.as_label += tally.as_label;
    overall.as_predicted += tally.as_predicted;
    overall.correct += tally.correct;
    label_metrics metrics;
    metrics.positives = tally.as_label;
    metrics.f1 = detail::class_f1(tally);
    f1_sum += metrics.f1;
    if (tally.as_label > 0) {
      metrics.aupr = average_precision(column_labels, column_scores);
      aupr_sum += *metrics.aupr;
      ++aupr_count;
    } else {
      no_positives += (no_positives.empty() ? "" : ", ") + std::to_string(l);
    }
    if (tally.as_label > 0 && tally.as_label < samples) {
      metrics.auc = roc_auc(column_labels, column_scores);
      auc_sum += *metrics.auc;
      ++auc_count;
    } else {
      single_class += (single_class.empty() ? "" : ", ") + std::to_string(l);
    }
    report.per_label.push_back(metrics);
  }
  report.f1_macro = f1_sum / static_cast<double>(width);
  report.f1_micro = detail::class_f1(overall);
  if (auc_count > 0) report.auc = auc_sum / static_cast<double>(auc_count);
  if (aupr_count > 0) report.aupr = aupr_sum / static_cast<double>(aupr_count);
  if (!single_class.empty())
    report.notes.push_back("auc: label(s) " + single_class +
                           " hold a single class in the data, so their ROC AUC is not defined (null) and the macro "
                           "average leaves them out");
  if (!no_positives.empty())
    report.notes.push_back("aupr: label(s) " + no_positives +
                           " have no positive sample, so their average precision is not defined (null) and the macro "
                           "average leaves them out");
  if (overall.as_label > 0 && overall.as_label < labels.size())
    report.auc_micro = roc_auc(labels, probabilities);
  else
    report.notes.push_back("auc_micro: the labels hold a single class, so ROC AUC is not defined");
  if (overall.as_label > 0)
    report.aupr_micro = average_precision(labels, probabilities);
  else
    report.notes.push_back("aupr_micro: no label is positive anywhere, so average precision is not defined");
  return report;
}

}  // namespace dnabert::train
