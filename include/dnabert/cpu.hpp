#pragma once
// The CPU backend and the names that run models on it: the one place where a model meets a
// device by default. Layers, models and trainers take the backend as a template parameter and
// never include a backend; include this header (or dnabert.hpp, which does) to run on the CPU.

#include <memory>
#include <string>

#include "dnabert/backend/cpu/backend.hpp"
#include "dnabert/backend/cpu/ops.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/model/bert_spec.hpp"
#include "dnabert/model/classifier.hpp"

namespace dnabert {

/// A BERT model on the float32 CPU backend, shaped by Spec (every size from config.json by default).
template <class Spec = dynamic_bert>
using cpu_bert = Bert<Spec, backend::cpu>;

/// A sequence classifier on the float32 CPU backend.
template <class Spec = dynamic_bert>
using cpu_classifier = classifier<Spec, backend::cpu>;

/// Loads a fine-tuned DNABERT folder for CPU inference with `threads` threads (0: one per core):
/// `load_classifier("DIR").predict(seqs)`.
inline cpu_classifier<> load_classifier(const std::string& dir, int threads = 0) {
  return cpu_classifier<>(dir, std::make_unique<backend::cpu>(threads));
}

}  // namespace dnabert
