// Dense layers through cuBLASLt with the bias added in the GEMM's epilogue (one pass over the
// output instead of two). GELU stays a kernel of ours: BERT's GELU is the exact erf form and
// cuBLASLt documents no such epilogue.

#include <cstdint>

#include "common.cuh"
#include "dnabert/backend/cuda/ops.hpp"

namespace dnabert::backend {
namespace {

constexpr std::size_t lt_workspace_bytes = std::size_t{32} << 20;  // NVIDIA's suggestion for Hopper
constexpr std::uint32_t lt_alignment = 16;                          // what the plans assume of every pointer

template <class V>
void set_attribute(cublasLtMatmulDesc_t op, cublasLtMatmulDescAttributes_t attribute, const V& value) {
  detail::check_cublas(cublasLtMatmulDescSetAttribute(op, attribute, &value, sizeof(value)),
                       "cublasLtMatmulDescSetAttribute");
}

// The plan for y[rows, out] = x[rows, in] W[out, in]^T + bias, in cuBLAS's column-major terms
// D[out, rows] = op_T(W as [in, out]) · x as [in, rows], bias broadcast along D's rows.
template <class D>
const detail::lt_plan& plan_for(detail::cuda_context& context, std::int64_t rows, std::int64_t in, std::int64_t out) {
  constexpr cudaDataType_t type = detail::blas_type<D>;
  const detail::lt_plan_key key{static_cast<int>(type), rows, in, out};
  auto& plans = context.lt_plans();
  if (const auto found = plans.find(key); found != plans.end()) return found->second;
  // The row count is part of the key and varies with packing and masked-LM rows: the cache is
  // emptied when full rather than growing with every new count.
  if (plans.size() >= detail::max_lt_plans) plans.clear();
  detail::lt_plan& plan = plans[key];
  const bool tf32 = std::is_same_v<D, float> && context.math() == cuda_math::tf32;
  const cublasComputeType_t compute = tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  detail::check_cublas(cublasLtMatmulDescCreate(&plan.operation, compute, CUDA_R_32F), "cublasLtMatmulDescCreate");
  set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T);
  set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N);
  set_attribute(plan.operation, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_BIAS);
  const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
  detail::check_cublas(cublasLtMatrixLayoutCreate(&plan.a, type, u(in), u(out), in), "cublasLtMatrixLayoutCreate");
  detail::check_cublas(cublasLtMatrixLayoutCreate(&plan.b, type, u(in), u(rows), in), "cublasLtMatrixLayoutCreate");
  detail::check_cublas(cublasLtMatrixLayoutCreate(&plan.d, type, u(out), u(rows), out), "cublasLtMatrixLayoutCreate");
  cublasLtMatmulPreference_t preference = nullptr;
  detail::check_cublas(cublasLtMatmulPreferenceCreate(&preference), "cublasLtMatmulPreferenceCreate");
  const auto set_preference = [&](cublasLtMatmulPreferenceAttributes_t attribute, const auto& value) {
    detail::check_cublas(cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, sizeof(value)),
                         "cublasLtMatmulPreferenceSetAttribute");
  };
  try {
    set_preference(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, static_cast<std::uint64_t>(lt_workspace_bytes));
    for (const auto attribute : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                 CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      set_preference(attribute, lt_alignment);
    cublasLtMatmulHeuristicResult_t result{};
    int count = 0;
    const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(context.lt(), plan.operation, plan.a, plan.b, plan.d,
                                                                 plan.d, preference, 1, &result, &count);
    // NOT_SUPPORTED is cuBLASLt's usual answer when no algorithm fits the shape (tiny `out`, as a
    // 2- or 3-class head): a plan without algorithm, kept, so the shape goes to cuBLAS from now on.
    if (status == CUBLAS_STATUS_NOT_SUPPORTED) count = 0;
    else detail::check_cublas(status, "cublasLtMatmulAlgoGetHeuristic");
    plan.found = count > 0;
    plan.algorithm = result.algo;
  } catch (...) {
    cublasLtMatmulPreferenceDestroy(preference);
    plans.erase(key);
    throw;
  }
  cublasLtMatmulPreferenceDestroy(preference);
  return plan;
}

}  // namespace

template <class T>
void linear_forward(cuda_t<T>& be, const T* x, const T* weight, const T* bias, std::int64_t rows, std::int64_t in,
                    std::int64_t out, T* y) {
  using D = detail::device_t<T>;
  if (rows == 0 || out == 0) return;
  const bool aligned = cuda_launch::aligned_to(x, lt_alignment) && cuda_launch::aligned_to(weight, lt_alignment) &&
                       cuda_launch::aligned_to(bias, lt_alignment) && cuda_launch::aligned_to(y, lt_alignment);
  const detail::lt_plan* plan = be.context().fused() && aligned && in > 0 ? &plan_for<D>(be.context(), rows, in, out) : nullptr;
  if (plan == nullptr || !plan->found) {  // the standard kernels, or what cuBLASLt cannot take: the plain GEMM, then the bias
    gemm(be, false, true, rows, out, in, T(1), x, weight, T(0), y);
    add_bias(be, y, bias, rows, out);
    return;
  }
  set_attribute(plan->operation, CUBLASLT_MATMUL_DESC_BIAS_POINTER, static_cast<const void*>(bias));
  const detail::scratch<std::uint8_t> workspace(be, static_cast<std::int64_t>(lt_workspace_bytes));
  const float alpha = 1.0f, beta = 0.0f;
  detail::check_cublas(cublasLtMatmul(be.context().lt(), plan->operation, &alpha, weight, plan->a, x, plan->b, &beta, y,
                                      plan->d, y, plan->d, &plan->algorithm, workspace.get(), lt_workspace_bytes,
                                      be.context().stream()),
                       "cublasLtMatmul (bias epilogue)");
}

template void linear_forward<float>(cuda_t<float>&, const float*, const float*, const float*, std::int64_t,
                                    std::int64_t, std::int64_t, float*);
template void linear_forward<bfloat16>(cuda_t<bfloat16>&, const bfloat16*, const bfloat16*, const bfloat16*,
                                       std::int64_t, std::int64_t, std::int64_t, bfloat16*);

}  // namespace dnabert::backend
