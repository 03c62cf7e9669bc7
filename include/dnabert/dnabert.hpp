#pragma once
// dnabert: DNABERT (Ji et al., Bioinformatics 2021) in header-only C++20.
//
//   #include <dnabert/dnabert.hpp>
//
//   // Tokenize exactly as DNABERT: overlapping k-mers, [CLS]/[SEP], 510-k-mer pieces.
//   const dnabert::KmerTokenizer<6> tokenizer;
//   auto pieces = tokenizer.encode("ACGTACGTTAGC", "read1");
//   auto batch = dnabert::make_batch(pieces);           // padded, with attention mask
//
//   // Read any input safely: FASTA (.gz), DNABERT TSV, DNABERT-2 CSV.
//   auto sequences = dnabert::io::read_sequences("reads.fa.gz");
//
//   // Run a fine-tuned Hugging Face folder (model.safetensors or pytorch_model.bin).
//   auto model = dnabert::load_classifier("DIR");
//   auto result = model.predict(seqs);                   // logits, probabilities, classes
//   auto vectors = model.embed(seqs, dnabert::pooling::mean);
//
// Layers (each header includes only lower ones): core ← ops ← autograd ← nn ← model ← train |
// analysis, with tokenizer and io resting on core; the backends (backend/cpu, backend/cuda)
// implement ops/op_list.hpp and are named only by cpu.hpp / cuda.hpp. See docs/architecture.md.

#include "dnabert/cpu.hpp"
#include "dnabert/core/xtensor_view.hpp"
#include "dnabert/core/bert_config.hpp"
#include "dnabert/core/error.hpp"
#include "dnabert/core/vocabulary.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/io/fasta.hpp"
#include "dnabert/io/kmer_sentence.hpp"
#include "dnabert/io/labelled_table.hpp"
#include "dnabert/io/meme.hpp"
#include "dnabert/io/model_folder.hpp"
#include "dnabert/io/model_quantization.hpp"
#include "dnabert/io/mutation_file.hpp"
#include "dnabert/io/npy.hpp"
#include "dnabert/io/output_lock.hpp"
#include "dnabert/io/packed_corpus.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/io/sequence_input.hpp"
#include "dnabert/io/torch_checkpoint.hpp"
#include "dnabert/io/vocab_file.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/model/classifier.hpp"
#include "dnabert/model/ensemble.hpp"
#include "dnabert/model/piece_batches.hpp"
#include "dnabert/model/window_classification.hpp"
#include "dnabert/io/svg_chart.hpp"
#include "dnabert/tokenizer/kmer_tokenizer.hpp"
#include "dnabert/tokenizer/token_batch.hpp"
#include "dnabert/analysis/attention_plots.hpp"
#include "dnabert/analysis/attention_scores.hpp"
#include "dnabert/analysis/genome_scan.hpp"
#include "dnabert/analysis/motif_comparison.hpp"
#include "dnabert/analysis/motif_discovery.hpp"
#include "dnabert/analysis/motif_statistics.hpp"
#include "dnabert/analysis/mutation_effects.hpp"
#include "dnabert/analysis/mutation_map.hpp"
#include "dnabert/analysis/mutations_tsv.hpp"
#include "dnabert/analysis/sequence_logo.hpp"
#include "dnabert/analysis/variant_effects.hpp"
#include "dnabert/train/checkpoint.hpp"
#include "dnabert/train/dataset.hpp"
#include "dnabert/train/finetune.hpp"
#include "dnabert/train/masking.hpp"
#include "dnabert/train/metrics.hpp"
#include "dnabert/train/optimizer.hpp"
#include "dnabert/train/pretrain.hpp"
#include "dnabert/train/pretraining_corpus.hpp"
#include "dnabert/train/pretraining_pieces.hpp"
#include "dnabert/train/schedule.hpp"
#include "dnabert/train/stop_on_signals.hpp"
#include "dnabert/train/training_loop.hpp"
