#pragma once
// Descriptions of many tensors handed to one optimizer op at once: a device backend updates or
// measures every parameter of a model in one launch instead of one launch (and, for norms, one
// host round trip) per parameter.

#include <cstdint>

namespace dnabert::ops {

/// n elements at data, read-only (gradients whose norm is taken).
template <class T>
struct tensor_extent {
  const T* data = nullptr;
  std::int64_t n = 0;
};

/// One parameter of a multi-tensor AdamW step. Moments are float32 whatever T is; `master` is the
/// float32 copy the update runs on when T is narrower (null for float32 parameters).
template <class T>
struct adamw_tensor {
  T* param = nullptr;
  const T* grad = nullptr;
  float* exp_avg = nullptr;
  float* exp_avg_sq = nullptr;
  float* master = nullptr;
  std::int64_t n = 0;
  double weight_decay = 0;      ///< 0 for DNABERT's no-decay group
  double bias_correction1 = 1;  ///< 1 - beta1^t for this parameter's own step count t
  double bias_correction2 = 1;  ///< 1 - beta2^t
};

/// AdamW's hyper-parameters shared by every tensor of one step.
struct adamw_hyper {
  double lr = 0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

}  // namespace dnabert::ops
