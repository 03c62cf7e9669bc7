#pragma once
// The CUDA backend and the names that run models on it. Plain C++ (no CUDA headers): the kernels
// are in the compiled library dnabert::cuda, which a program using this header links.

#include <memory>
#include <string>

#include "dnabert/backend/cuda/backend.hpp"
#include "dnabert/backend/cuda/ops.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/model/bert_spec.hpp"
#include "dnabert/model/classifier.hpp"

namespace dnabert {

/// A BERT model on a CUDA device holding T (float, or bfloat16), shaped by Spec.
template <class Spec = dynamic_bert, class T = float>
using cuda_bert = Bert<Spec, backend::cuda_t<T>>;

/// A sequence classifier on a CUDA device holding T.
template <class Spec = dynamic_bert, class T = float>
using cuda_classifier = classifier<Spec, backend::cuda_t<T>>;

/// Loads a fine-tuned DNABERT folder for inference on CUDA device `device`.
template <class T = float>
cuda_classifier<dynamic_bert, T> load_cuda_classifier(const std::string& dir, int device = 0) {
  return cuda_classifier<dynamic_bert, T>(dir, std::make_unique<backend::cuda_t<T>>(device));
}

}  // namespace dnabert
