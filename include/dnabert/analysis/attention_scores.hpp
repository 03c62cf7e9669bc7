#pragma once
// DNABERT-viz attention scores: how much the [CLS] token attends to each nucleotide, from a
// model's attention probabilities, for sequences of any length; and their .npy/TSV/bedGraph files,
// whole or written a chunk of sequences at a time.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/npy.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/model/piece_batches.hpp"
#include "dnabert/tokenizer/sequence_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"

namespace dnabert::analysis {

/// `attention_options::layer` value: the last layer (DNABERT-viz's choice).
inline constexpr int last_layer = -1;
/// `attention_options::layer` value: every layer, summed (DNABERT's visualize.py with a layer range).
inline constexpr int all_layers = -2;
/// `attention_options::head` value: every head, summed (DNABERT-viz's choice).
inline constexpr int all_heads = -1;

/// Which attention probabilities become scores, and how the pieces are batched.
struct attention_options {
  int layer = last_layer;       ///< 0-based layer, `last_layer` or `all_layers`
  int head = all_heads;         ///< 0-based head or `all_heads`
  std::size_t batch_size = 32;  ///< at most this many pieces per forward pass
  /// Cap on one batch's attention probabilities (every layer, float32); a batch of long pieces
  /// gets fewer rows so that memory stays bounded whatever the batch size (at least one row).
  std::size_t max_batch_attention_bytes = std::size_t{1} << 30;
  /// Called after each batch with (pieces done, pieces in all); for progress displays.
  std::function<void(std::size_t, std::size_t)> progress;
};

/// One score vector per sequence, one score per nucleotide, L2-normalised (ragged: each row as
/// long as its sequence).
using nucleotide_scores = std::vector<std::vector<float>>;

namespace detail {

// Per-sequence token scores (k-mers or BPE tokens) while batches arrive: every piece writes its
// tokens at its offset.
using kmer_scores = std::vector<std::vector<double>>;

// Layers the options select, checked against the model.
inline std::vector<std::size_t> chosen_layers(const attention_options& options, std::int64_t layers) {
  if (options.layer == all_layers) {
    std::vector<std::size_t> every(static_cast<std::size_t>(layers));
    for (std::size_t l = 0; l < every.size(); ++l) every[l] = l;
    return every;
  }
  if (options.layer == last_layer) return {static_cast<std::size_t>(layers - 1)};
  if (options.layer < 0 || options.layer >= layers)
    throw input_error("layer " + std::to_string(options.layer) + " does not exist: the model has " +
                      std::to_string(layers) + " layers (0.." + std::to_string(layers - 1) + ")");
  return {static_cast<std::size_t>(options.layer)};
}

// Rows of the next batch, starting at the sorted piece `start`: batch_size, fewer when the
// attention probabilities of that many pieces of the batch's longest length would pass the cap.
inline std::size_t rows_for_batch(std::span<const token_piece> sorted, std::size_t start, const attention_options& options,
                                  std::size_t layers, std::size_t heads) {
  std::size_t rows = std::min(options.batch_size, sorted.size() - start);
  while (rows > 1) {
    const std::size_t length = sorted[start + rows - 1].ids.size();  // sorted: the last is the longest
    if (layers * heads * length * length * sizeof(float) * rows <= options.max_batch_attention_bytes) break;
    rows = std::max<std::size_t>(1, rows / 2);
  }
  return rows;
}

// A model output readable on the host: the tensor itself where the backend's memory is the
// host's (no copy of the largest output, the attention probabilities), else a download of it.
template <class B>
auto host_readable(B& backend, const tensor<B>& t) {
  if constexpr (B::host_memory) return t.span();
  else return host_values(backend, t);
}

// Adds the [CLS] query row of the chosen layers and heads, at every token of each piece of
// `batch` (pieces of `max_tokens`), to its sequence's token scores; `backend` is the one the model ran on.
template <class B>
void add_cls_rows(B& backend, const token_batch& batch, const bert_output<B>& result, std::span<const std::size_t> layers,
                  int head, std::size_t heads, std::size_t max_tokens, kmer_scores& scores) {
  const std::size_t length = batch.length;
  for (const std::size_t layer : layers) {
    // [rows, heads, length, length]; on a device, one layer of one batch at a time comes over.
    const auto probabilities = host_readable(backend, result.attentions[layer]);
    for (std::size_t r = 0; r < batch.rows; ++r) {
      const piece_origin& origin = batch.origins[r];
      const int* mask = batch.attention_mask.data() + r * length;
      const auto real_tokens = static_cast<std::size_t>(std::count(mask, mask + length, 1));
      double* out = scores[origin.sequence].data() + origin.piece * max_tokens;
      for (std::size_t h = 0; h < heads; ++h) {
        if (head != all_heads && h != static_cast<std::size_t>(head)) continue;
        // Row 0 (the [CLS] query) of head h; keys 1 .. real_tokens-2 are the k-mers ([SEP] is last).
        const auto* cls_row = probabilities.data() + ((r * heads + h) * length) * length;
        for (std::size_t t = 1; t + 1 < real_tokens; ++t) out[t - 1] += static_cast<double>(static_cast<float>(cls_row[t]));
      }
    }
  }
}

// `values` divided by their L2 norm, as floats; a zero vector (a head that never looks at the
// tokens) stays zero instead of becoming NaN.
inline std::vector<float> l2_normalised(std::span<const double> values) {
  double squares = 0;
  for (const double v : values) squares += v * v;
  const double norm = std::sqrt(squares);
  std::vector<float> out(values.size(), 0.0f);
  if (norm > 0)
    for (std::size_t p = 0; p < values.size(); ++p) out[p] = static_cast<float>(values[p] / norm);
  return out;
}

// DNABERT-viz's k-mer → nucleotide step: each nucleotide the mean of the k-mers covering it
// (k-mer j covers nucleotides j .. j+k-1), then the vector L2-normalised.
inline std::vector<float> to_nucleotides(std::span<const double> kmer, std::size_t k) {
  const std::size_t length = kmer.size() + k - 1;
  std::vector<double> sum(length + 1, 0.0);  // prefix sums: a window mean in O(1)
  for (std::size_t j = 0; j < kmer.size(); ++j) sum[j + 1] = sum[j] + kmer[j];
  std::vector<double> mean(length);
  for (std::size_t p = 0; p < length; ++p) {
    const std::size_t first = p + 1 >= k ? p + 1 - k : 0;  // first k-mer covering p
    const std::size_t last = std::min(p, kmer.size() - 1);  // last k-mer covering p
    mean[p] = (sum[last + 1] - sum[first]) / static_cast<double>(last - first + 1);
  }
  return l2_normalised(mean);
}

// The BPE form of to_nucleotides: each nucleotide the mean score of the tokens standing for it
// (`spans`: one token each in DNA, whatever its length; none leaves 0), then L2-normalised.
inline std::vector<float> spread_over_tokens(std::span<const double> token, std::span<const text_span> spans, std::size_t length) {
  std::vector<double> sum(length, 0.0), count(length, 0.0);
  for (std::size_t t = 0; t < token.size(); ++t)
    for (std::size_t p = spans[t].begin; p < spans[t].end && p < length; ++p) {
      sum[p] += token[t];
      count[p] += 1;
    }
  for (std::size_t p = 0; p < length; ++p)
    if (count[p] > 0) sum[p] /= count[p];
  return l2_normalised(sum);
}

// Longest row of `scores`.
inline std::size_t longest(const nucleotide_scores& scores) {
  std::size_t length = 0;
  for (const auto& row : scores) length = std::max(length, row.size());
  return length;
}

// Appends every score as "<prefix(id, position)><score>\n" to `out`, with enough digits to read the float back.
template <class Prefix>
void append_score_lines(std::ostream& out, const nucleotide_scores& scores, std::span<const std::string> ids,
                        Prefix&& prefix) {
  if (ids.size() != scores.size())
    throw input_error(std::to_string(scores.size()) + " score rows but " + std::to_string(ids.size()) + " ids");
  out << std::setprecision(std::numeric_limits<float>::max_digits10);
  for (std::size_t s = 0; s < scores.size(); ++s)
    for (std::size_t p = 0; p < scores[s].size(); ++p) {
      prefix(out, ids[s], p);
      out << scores[s][p] << '\n';
    }
}

}  // namespace detail

/// DNABERT-viz nucleotide scores of every sequence (raw nucleotides, any length >= k): the
/// [CLS] query row of the chosen layer's attention probabilities, summed over heads, at every
/// token; each nucleotide the mean of the tokens covering it (the k k-mers that overlap it; for
/// DNABERT-2's BPE, the one token it belongs to, whatever that token's length); L2-normalised. Long sequences are
/// scored piece by piece (each piece from its own [CLS]) and stitched; ids name them in errors.
template <class Spec, class B>
nucleotide_scores attention_scores(const Bert<Spec, B>& model, std::span<const std::string> sequences,
                                   const attention_options& options = {}, std::span<const std::string> ids = {}) {
  if (options.batch_size == 0) throw input_error("batch size must be at least 1");
  const auto heads = static_cast<std::size_t>(model.config().num_attention_heads);
  if (options.head != all_heads && (options.head < 0 || static_cast<std::size_t>(options.head) >= heads))
    throw input_error("head " + std::to_string(options.head) + " does not exist: the model has " +
                      std::to_string(heads) + " heads (0.." + std::to_string(heads - 1) + ")");
  const auto layers = detail::chosen_layers(options, model.config().num_hidden_layers);

  const sequence_tokenizer tokenizer = model.tokenizer();
  const auto pieces = sorted_pieces(tokenizer, sequences, ids, model.max_kmers());
  detail::kmer_scores kmer(sequences.size());
  std::vector<std::vector<text_span>> spans(sequences.size());  // BPE only: each token's nucleotides
  for (std::size_t s = 0; s < sequences.size(); ++s) {
    if (tokenizer.is_bpe()) spans[s] = tokenizer.token_spans(sequences[s]);
    kmer[s].assign(tokenizer.is_bpe() ? spans[s].size() : tokenizer.token_count(sequences[s]), 0.0);
  }
  // Padded keys get exactly zero probability, so batching pieces of different lengths changes no score.
  const auto all = static_cast<std::size_t>(model.config().num_hidden_layers);
  for_each_piece_batch(
      model, std::span<const token_piece>(pieces), forward_options{false, true, false, {}},
      [&](std::size_t start) { return detail::rows_for_batch(pieces, start, options, all, heads); },
      [&](const token_batch& batch, const bert_output<B>& result) {
        detail::add_cls_rows(model.backend(), batch, result, layers, options.head, heads, model.max_kmers(), kmer);
      },
      options.progress);

  nucleotide_scores out(sequences.size());
  for (std::size_t s = 0; s < sequences.size(); ++s)
    out[s] = tokenizer.is_bpe() ? detail::spread_over_tokens(kmer[s], spans[s], sequences[s].size())
                                : detail::to_nucleotides(kmer[s], static_cast<std::size_t>(tokenizer.k()));
  return out;
}

/// Several models' scores of the same sequences (e.g. k = 3..6) combined as DNABERT does: the
/// normalised vectors summed, nucleotide by nucleotide.
inline nucleotide_scores combine(std::span<const nucleotide_scores> per_model) {
  if (per_model.empty()) return {};
  nucleotide_scores out = per_model.front();
  for (std::size_t m = 1; m < per_model.size(); ++m) {
    if (per_model[m].size() != out.size())
      throw input_error("cannot combine attention scores of " + std::to_string(out.size()) + " and " +
                        std::to_string(per_model[m].size()) + " sequences");
    for (std::size_t s = 0; s < out.size(); ++s) {
      if (per_model[m][s].size() != out[s].size())
        throw input_error("cannot combine attention scores of sequence " + std::to_string(s) + ": " +
                          std::to_string(out[s].size()) + " and " + std::to_string(per_model[m][s].size()) + " nt");
      for (std::size_t p = 0; p < out[s].size(); ++p) out[s][p] += per_model[m][s][p];
    }
  }
  return out;
}

/// Where the ids of `npy_path` go: OUT.npy → OUT.ids.txt (as `dnabert embed`).
inline std::string ids_file_path(const std::string& npy_path) { return io::npy_side_path(npy_path, ".ids.txt"); }

/// Writes scores as float32 .npy [N, L_max] (NaN beyond each sequence's length) and their ids, one
/// a line, beside it in `ids_file_path(path)`, a chunk of sequences at a time: rows wait in a
/// scratch file until the last, when L_max is known; both files are put in place by commit().
class scores_npy_writer {
 public:
  /// Starts `path` and its ids file; the scratch file goes to `scratch_directory`.
  scores_npy_writer(std::string path, const std::string& scratch_directory)
      : ids_(ids_file_path(path)), rows_(std::move(path), scratch_directory) {}

  /// Adds the scores of a chunk of sequences, named by `ids`.
  void add(const nucleotide_scores& scores, std::span<const std::string> ids) {
    if (ids.size() != scores.size())
      throw input_error(std::to_string(scores.size()) + " score rows but " + std::to_string(ids.size()) + " ids");
    for (std::size_t s = 0; s < scores.size(); ++s) {
      rows_.add(scores[s]);
      ids_.text() << ids[s] << '\n';
      ids_.flush_if_full();
    }
  }

  /// Writes the matrix and puts both files in place.
  void commit() {
    rows_.commit();
    ids_.commit();
  }

 private:
  io::streamed_text_file ids_;
  io::npy_ragged_writer rows_;
};

/// Writes float32 .npy [N, L_max] (NaN beyond each sequence's length) and the ids, one a line,
/// beside it in `ids_file_path(path)`; both atomically.
inline void write_scores_npy(const std::string& path, const nucleotide_scores& scores, std::span<const std::string> ids) {
  scores_npy_writer writer(path, std::filesystem::path(path).parent_path().string());
  writer.add(scores, ids);
  writer.commit();
}

/// The header line of scores_tsv.
inline constexpr std::string_view scores_tsv_header = "id\tposition\tscore\n";
/// The track line that starts scores_bedgraph.
inline constexpr std::string_view scores_bedgraph_header = "track type=bedGraph name=\"dnabert attention\"\n";

/// Appends the lines of scores_tsv after its header to `out`.
inline void append_scores_tsv(std::ostream& out, const nucleotide_scores& scores, std::span<const std::string> ids) {
  detail::append_score_lines(out, scores, ids,
                             [](std::ostream& line, const std::string& id, std::size_t p) { line << id << '\t' << p << '\t'; });
}

/// Appends the lines of scores_bedgraph after its track line to `out`.
inline void append_scores_bedgraph(std::ostream& out, const nucleotide_scores& scores, std::span<const std::string> ids) {
  detail::append_score_lines(out, scores, ids, [](std::ostream& line, const std::string& id, std::size_t p) {
    line << id << '\t' << p << '\t' << p + 1 << '\t';
  });
}

/// The scores as TSV: a header "id\tposition\tscore", then one line per nucleotide (0-based position).
inline std::string scores_tsv(const nucleotide_scores& scores, std::span<const std::string> ids) {
  std::ostringstream out;
  out << scores_tsv_header;
  append_scores_tsv(out, scores, ids);
  return out.str();
}

/// The scores as bedGraph: the id as chromosome, one 0-based half-open interval per nucleotide.
inline std::string scores_bedgraph(const nucleotide_scores& scores, std::span<const std::string> ids) {
  std::ostringstream out;
  out << scores_bedgraph_header;
  append_scores_bedgraph(out, scores, ids);
  return out.str();
}

}  // namespace dnabert::analysis
