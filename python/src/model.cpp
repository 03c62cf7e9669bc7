// dnabert.Model: a model folder loaded on the chosen device and precision, behind one Python type
// whatever backend computes it. Every call converts its inputs while holding the GIL, then
// releases it for the computation; one model computes one call at a time (its own lock), so
// threads with a model each run in parallel.

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <dnabert/analysis/attention_scores.hpp>
#include <dnabert/io/config_json.hpp>
#include <dnabert/model/classifier.hpp>

#include "arrays.hpp"
#include "bindings.hpp"
#include "device.hpp"
#include "sequence_letters.hpp"

namespace dnabert::python {

namespace {

// What a loaded model computes, whatever backend computes it.
class model_interface {
 public:
  virtual ~model_interface() = default;
  virtual prediction predict(std::span<const std::string> sequences, const inference_options& options,
                             std::span<const std::string> ids, std::span<const std::string> pairs_with) const = 0;
  virtual xt::xtensor<float, 2> embed(std::span<const std::string> sequences, pooling how, const inference_options& options,
                                      std::span<const std::string> ids) const = 0;
  virtual std::vector<token_states> embed_tokens(std::span<const std::string> sequences, const inference_options& options,
                                                 std::span<const std::string> ids) const = 0;
  virtual analysis::nucleotide_scores attention(std::span<const std::string> sequences, const analysis::attention_options& options,
                                                std::span<const std::string> ids) const = 0;
  virtual std::int64_t hidden_state(std::int64_t layer, pooling how) const = 0;
  virtual const bert_config& config() const = 0;
  virtual const std::vector<std::string>& warnings() const = 0;
};

// model_interface on backend B: a classifier loaded on it.
template <class B>
class model_on final : public model_interface {
 public:
  model_on(const std::string& dir, std::unique_ptr<B> backend) : model_(dir, std::move(backend)) {}

  prediction predict(std::span<const std::string> sequences, const inference_options& options,
                     std::span<const std::string> ids, std::span<const std::string> pairs_with) const override {
    return model_.predict(sequences, options, ids, pairs_with);
  }
  xt::xtensor<float, 2> embed(std::span<const std::string> sequences, pooling how, const inference_options& options,
                              std::span<const std::string> ids) const override {
    return model_.embed(sequences, how, options, ids);
  }
  std::vector<token_states> embed_tokens(std::span<const std::string> sequences, const inference_options& options,
                                         std::span<const std::string> ids) const override {
    return model_.embed_tokens(sequences, options, ids);
  }
  analysis::nucleotide_scores attention(std::span<const std::string> sequences, const analysis::attention_options& options,
                                        std::span<const std::string> ids) const override {
    return analysis::attention_scores(model_.model(), sequences, options, ids);
  }
  std::int64_t hidden_state(std::int64_t layer, pooling how) const override { return model_.hidden_state(layer, how); }
  const bert_config& config() const override { return model_.model().config(); }
  const std::vector<std::string>& warnings() const override { return model_.model().warnings(); }

 private:
  classifier<dynamic_bert, B> model_;
};

// Sequences as Python gave them: a str, a list of str, or a NumPy array of bytes or str.
std::vector<std::string> sequences_of(nb::handle given) {
  if (nb::isinstance<nb::str>(given)) return {nb::cast<std::string>(given)};
  if (nb::isinstance<nb::bytes>(given)) return {std::string(nb::cast<nb::bytes>(given).c_str(), nb::len(given))};
  std::vector<std::string> out;
  for (nb::handle item : given) {
    if (nb::isinstance<nb::bytes>(item)) {
      out.emplace_back(nb::cast<nb::bytes>(item).c_str(), nb::len(item));
    } else if (nb::isinstance<nb::str>(item)) {
      out.push_back(nb::cast<std::string>(item));
    } else {
      nb::object bytes = nb::steal(PyObject_Bytes(item.ptr()));  // NumPy's bytes_ and str_ scalars
      if (!bytes.is_valid()) throw nb::python_error();
      out.emplace_back(nb::cast<nb::bytes>(bytes).c_str(), nb::len(bytes));
    }
  }
  return out;
}

// check_sequence_letters for every sequence, named "what[i]".
void check_letters(const std::vector<std::string>& sequences, const char* what) {
  for (std::size_t s = 0; s < sequences.size(); ++s)
    check_sequence_letters(sequences[s], std::string(what) + "[" + std::to_string(s) + "]");
}

// Names for error messages: "sequences[i]".
std::vector<std::string> ids_of(std::size_t count, const char* what) {
  std::vector<std::string> ids(count);
  for (std::size_t s = 0; s < count; ++s) ids[s] = std::string(what) + "[" + std::to_string(s) + "]";
  return ids;
}

// Rows of different lengths as one float32 [N, longest, width] array, NaN past each row's end.
template <class RowLength, class CopyRow>
nb::ndarray<nb::numpy, float> ragged_array(std::size_t rows, std::size_t width, RowLength&& length_of, CopyRow&& copy_row) {
  std::size_t longest = 0;
  for (std::size_t r = 0; r < rows; ++r) longest = std::max(longest, length_of(r));
  std::vector<float> values(rows * longest * width, std::numeric_limits<float>::quiet_NaN());
  for (std::size_t r = 0; r < rows; ++r) copy_row(r, values.data() + r * longest * width);
  if (width == 1) return owned_array(std::move(values), {rows, longest});
  return owned_array(std::move(values), {rows, longest, width});
}

// The pooling named by embed()'s `pooling` (none is handled before).
pooling pooling_of(const std::string& name) {
  if (name == "cls") return pooling::cls;
  if (name == "mean") return pooling::mean;
  if (name == "pooler") return pooling::pooler;
  throw input_error("pooling '" + name + "': expected cls, mean, pooler or none");
}

// How predict() combines a long sequence's pieces, by name.
piece_rule piece_rule_of(const std::string& name) {
  if (name == "mean") return piece_rule::mean;
  if (name == "max") return piece_rule::max;
  throw input_error("long '" + name + "': expected mean or max (how the pieces of a sequence longer than 510 k-mers are combined)");
}

// attention_scores()' `layer`: a 0-based index, -1 or "last", or "all".
int attention_layer_of(nb::handle layer) {
  if (nb::isinstance<nb::str>(layer)) {
    const auto name = nb::cast<std::string>(layer);
    if (name == "last") return analysis::last_layer;
    if (name == "all") return analysis::all_layers;
    throw input_error("layer '" + name + "': expected a 0-based layer, -1 (the last), 'last' or 'all'");
  }
  const auto index = nb::cast<int>(layer);
  if (index < -1) throw input_error("layer " + std::to_string(index) + ": expected a 0-based layer, -1 (the last), 'last' or 'all'");
  return index;
}

// The Python type.
class model {
 public:
  model(const std::string& path, const std::string& device, const std::string& precision, int threads,
        const std::string& cuda_kernels)
      : path_(path), device_(device), precision_(precision) {
    cli::device_options options{device, precision, cuda_kernels};
    cli::with_backend(options, threads, [&](auto backend) {
      using B = typename decltype(backend)::element_type;
      impl_ = std::make_unique<model_on<B>>(path, std::move(backend));
    });
  }

  nb::ndarray<nb::numpy, float> predict(nb::handle given, bool logits, std::size_t batch_size, const std::string& long_rule,
                                        nb::handle second) const {
    auto sequences = sequences_of(given);
    check_letters(sequences, "sequences");
    std::vector<std::string> pairs_with;
    if (!second.is_none()) {
      pairs_with = sequences_of(second);
      check_letters(pairs_with, "second");
      if (pairs_with.size() != sequences.size())
        throw input_error("second holds " + std::to_string(pairs_with.size()) + " sequences for " +
                          std::to_string(sequences.size()) + " first ones: a pair needs one of each");
    }
    inference_options options;
    options.batch_size = batch_size;
    options.long_sequences = piece_rule_of(long_rule);
    const auto ids = ids_of(sequences.size(), "sequences");
    prediction result;
    {
      nb::gil_scoped_release unlocked;
      const std::lock_guard computing(lock_);
      result = impl_->predict(sequences, options, ids, pairs_with);
    }
    const auto& chosen = logits ? result.logits : result.probabilities;
    return owned_array(std::vector<float>(chosen.begin(), chosen.end()), {chosen.shape(0), chosen.shape(1)});
  }

  nb::ndarray<nb::numpy, float> embed(nb::handle given, const std::string& pooling_name, std::int64_t layer,
                                      std::size_t batch_size) const {
    auto sequences = sequences_of(given);
    check_letters(sequences, "sequences");
    inference_options options;
    options.batch_size = batch_size;
    options.layer = layer;
    const auto ids = ids_of(sequences.size(), "sequences");
    const auto hidden = static_cast<std::size_t>(impl_->config().hidden_size);
    if (pooling_name == "none") {
      std::vector<token_states> states;
      {
        nb::gil_scoped_release unlocked;
        const std::lock_guard computing(lock_);
        states = impl_->embed_tokens(sequences, options, ids);
      }
      return ragged_array(
          states.size(), hidden, [&](std::size_t s) { return states[s].states.shape(0); },
          [&](std::size_t s, float* out) { std::copy(states[s].states.begin(), states[s].states.end(), out); });
    }
    const pooling how = pooling_of(pooling_name);
    xt::xtensor<float, 2> rows;
    {
      nb::gil_scoped_release unlocked;
      const std::lock_guard computing(lock_);
      rows = impl_->embed(sequences, how, options, ids);
    }
    return owned_array(std::vector<float>(rows.begin(), rows.end()), {rows.shape(0), rows.shape(1)});
  }

  nb::ndarray<nb::numpy, float> attention_scores(nb::handle given, nb::handle layer, int head, std::size_t batch_size) const {
    auto sequences = sequences_of(given);
    check_letters(sequences, "sequences");
    analysis::attention_options options;
    options.layer = attention_layer_of(layer);
    options.head = head;
    options.batch_size = batch_size;
    const auto ids = ids_of(sequences.size(), "sequences");
    analysis::nucleotide_scores scores;
    {
      nb::gil_scoped_release unlocked;
      const std::lock_guard computing(lock_);
      scores = impl_->attention(sequences, options, ids);
    }
    return ragged_array(
        scores.size(), 1, [&](std::size_t s) { return scores[s].size(); },
        [&](std::size_t s, float* out) { std::copy(scores[s].begin(), scores[s].end(), out); });
  }

  [[nodiscard]] std::string config_json() const { return io::config_json_text(impl_->config()); }
  [[nodiscard]] int k() const { return impl_->config().k(); }
  [[nodiscard]] bool bpe() const { return impl_->config().tokens == token_kind::bpe; }
  [[nodiscard]] std::int64_t num_labels() const { return impl_->config().num_labels; }
  [[nodiscard]] const std::vector<std::string>& warnings() const { return impl_->warnings(); }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& device() const { return device_; }
  [[nodiscard]] const std::string& precision() const { return precision_; }

 private:
  std::string path_, device_, precision_;
  std::unique_ptr<model_interface> impl_;
  mutable std::mutex lock_;
};

}  // namespace

void bind_model(nb::module_& m) {
  nb::class_<model>(m, "Model", "A model folder loaded for inference (dnabert.load makes one).")
      .def(nb::init<const std::string&, const std::string&, const std::string&, int, const std::string&>(), nb::arg("path"),
           nb::arg("device") = "cpu", nb::arg("precision") = "fp32", nb::arg("threads") = 0, nb::arg("cuda_kernels") = "",
           "Loads the Hugging Face folder `path` on `device` ('cpu', 'cuda', 'cuda:N') in `precision` "
           "('fp32', 'bf16', 'int8' on the CPU; 'fp32', 'tf32', 'bf16' on CUDA).")
      .def("predict", &model::predict, nb::arg("sequences"), nb::arg("logits") = false, nb::arg("batch_size") = 32,
           nb::arg("long") = "mean", nb::arg("second") = nb::none(),
           "Class probabilities [N, C] float32 (logits=True: the logits; a regression model: its score). A sequence "
           "longer than 510 k-mers is cut into pieces combined by `long` ('mean' or 'max'); `second` makes pairs.")
      .def("embed", &model::embed, nb::arg("sequences"), nb::arg("pooling") = "cls", nb::arg("layer") = -1,
           nb::arg("batch_size") = 32,
           "One vector per sequence [N, hidden] float32 from hidden state `layer` (0: the embeddings, -1: the last), "
           "pooled by 'cls', 'mean' or 'pooler'; 'none' gives every token [N, T_max, hidden], NaN past a sequence's tokens.")
      .def("attention_scores", &model::attention_scores, nb::arg("sequences"), nb::arg("layer") = -1, nb::arg("head") = -1,
           nb::arg("batch_size") = 32,
           "DNABERT-viz scores [N, L_max] float32, one per nucleotide (NaN past a sequence's end): the [CLS] row of "
           "`layer`'s attention ('all' sums the layers), summed over heads (or `head` alone), L2-normalised.")
      .def_prop_ro("config_json", &model::config_json, "The model's config.json, as dnabert would write it.")
      .def_prop_ro("k", &model::k, "The k-mer size (ValueError for a BPE model).")
      .def_prop_ro("bpe", &model::bpe, "Whether the model reads BPE tokens (DNABERT-2) rather than k-mers.")
      .def_prop_ro("num_labels", &model::num_labels, "Classes (1 for regression).")
      .def_prop_ro("warnings", &model::warnings, "What loading the folder warned about (unused tensors, ...).")
      .def_prop_ro("path", &model::path, "The folder it was loaded from.")
      .def_prop_ro("device", &model::device, "The device it runs on.")
      .def_prop_ro("precision", &model::precision, "The precision it computes in.");
}

}  // namespace dnabert::python
