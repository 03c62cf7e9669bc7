# Numbers that cannot drift silently (issue 17 §8): `predict` and `embed` on the parity fixtures,
# one thread, against the regression lock tests/cli/expected/drift/ (dnabert's own outputs, written
# by tests/reference/make_drift_locks.py with the README's build). The 1e-5 parity with transformers
# (tests/cli/expected/) would let a refactor or a faster kernel that moves results pass; this does
# not. The lock itself is checked against transformers, so it cannot lock wrong numbers. Included
# from CMakeLists.txt, whose variables it uses (and heads.cmake's edit_model_folder).
#
# Tolerance |a - b| <= 1e-6 + 1e-6 x max(|a|, |b|), where the lock is exact: the build that wrote it
# (g++, Release, oneDNN). Across the CPUs that build runs on, only oneDNN's kernels change (our code
# is compiled for AVX2 + FMA everywhere): oneDNN capped at AVX2 (ONEDNN_MAX_CPU_ISA) against its
# AVX-512 kernels moved these outputs by at most 6.3e-7, 0.49 of the tolerance (0.04 for the
# probabilities). Another GEMM engine or compiler sums in another order: Eigen (g++; clang 14 Debug,
# CI's sanitizer build), BLIS, and oneDNN down to SSE4.1 moved them by up to 1.4e-6 (1.3e-6 between
# CI's own two builds; 1.24x the tolerance); there the lock is compared at the measured noise,
# 3e-6 + 1e-6 x |value| (worst 0.42 of it; probabilities 0.08). Measured in December 2026 on an
# AMD EPYC with AVX-512 (BF16), also against float64 transformers: our float32 outputs are up to
# 1.4e-6 from it, which is why the lock holds dnabert's float32 numbers rather than float64 ones.
if(DNABERT_BLAS_USED STREQUAL "onednn" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_BUILD_TYPE STREQUAL "Release")
  set(drift_tolerance --abs 1e-6 --rel 1e-6)
else()
  set(drift_tolerance --abs 3e-6 --rel 1e-6)
endif()
set(drift ${expected}/drift)
set(drift_input_cls_k6 ${three_fa})
set(drift_input_cls3_k3 ${expected}/cls3_k3.fa)
set(drift_input_reg_k6 ${expected}/reg_k6.fa)
set(drift_input_mlm_k3 ${expected}/mlm_k3.fa)
foreach(model cls_k6 cls3_k3 reg_k6 mlm_k3)
  set(input ${drift_input_${model}})
  set(locked_against_transformers "")
  if(NOT model STREQUAL "mlm_k3")  # a pre-trained folder has no classifier to predict with
    add_cli_test(NAME cli.drift_predict_${model}
      COMPARE ${drift}/predict_${model}.tsv @DIR@/predictions.tsv TOLERANCE ${drift_tolerance}
      COMMAND ${cli} predict --model ${parity}/${model} --input ${input} --output @DIR@/predictions.tsv --threads 1)
    list(APPEND locked_against_transformers ${expected}/predict_${model}.tsv ${drift}/predict_${model}.tsv)
    set(poolings cls mean pooler)
  else()
    set(poolings cls mean)
  endif()
  foreach(pooling IN LISTS poolings)
    add_cli_test(NAME cli.drift_embed_${model}_${pooling}
      COMPARE ${drift}/embed_${model}_${pooling}.npy @DIR@/embed.npy TOLERANCE ${drift_tolerance}
      COMMAND ${cli} embed --model ${parity}/${model} --input ${input} --output @DIR@/embed.npy --pooling ${pooling}
              --threads 1)
    list(APPEND locked_against_transformers ${expected}/embed_${model}_${pooling}.txt ${drift}/embed_${model}_${pooling}.npy)
  endforeach()
  add_cli_test(NAME cli.drift_lock_${model}_is_transformers
    COMPARE ${locked_against_transformers} TOLERANCE ${golden_tolerance} COMMAND ${CMAKE_COMMAND} -E true)
endforeach()

# The lock sees what parity cannot: cls_k6 with layer_norm_eps 3e-6 instead of 1e-12 (a stand-in
# for a change that moves results a little) predicts within 0.42 of parity's tolerance, but 4.2x
# the lock's (1.2e-5 off).
add_cli_test(NAME cli.drift_eps_folder FIXTURES_SETUP cli.drift_eps_folder
  COMMAND ${edit_folder} ${parity}/cls_k6 @DIR@/model --set layer_norm_eps=3e-6)
set(eps_predict ${cli} predict --model ${cli_scratch}/cli.drift_eps_folder/model --input ${three_fa}
    --output @DIR@/predictions.tsv --threads 1)
add_cli_test(NAME cli.drift_small_change_passes_parity FIXTURES_REQUIRED cli.drift_eps_folder
  COMPARE ${expected}/predict_cls_k6.tsv @DIR@/predictions.tsv TOLERANCE ${golden_tolerance} COMMAND ${eps_predict})
add_cli_test(NAME cli.drift_inner_small_change ONLY_COMMAND small_change_against_lock
  COMPARE ${drift}/predict_cls_k6.tsv @DIR@/predictions.tsv TOLERANCE ${drift_tolerance} COMMAND ${eps_predict})
add_cli_test(NAME cli.drift_lock_sees_small_change EXPECT_ERROR FIXTURES_REQUIRED cli.drift_eps_folder
  OUTPUT "the output files do not agree.*numbers differ" COMMAND ${small_change_against_lock})
