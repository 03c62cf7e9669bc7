# --device on the commands that run a model for their analysis (attention, plot, motifs, variants,
# mutate), on evaluate and on predict's ensembles, as predict and embed take it. Included from
# CMakeLists.txt, whose variables it uses.
# For each command line, with @DIR@ for its output folder:
#   cli.<name>_device_cpu      `--device cpu --threads 1`, the reference of the two below;
#   cli.<name>_device_threads  the default device with 2 threads: another summation order, so the
#                              numbers agree within threads_tolerance rather than by construction;
#   cli.<name>_device_cuda     a CUDA build: the GPU's files agree with the CPU's within
#                              gpu_tolerance (label gpu; skipped where no GPU is visible); a build
#                              without CUDA: --device cuda fails saying so;
#   cli.<name>_device_bogus    --device bogus fails naming the value.
# `files` (relative to @DIR@) are the outputs compared; extra add_cli_test keywords go after them.
function(add_device_tests name files)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "" "FIXTURES_REQUIRED;RESOURCE_LOCK;COMMAND")
  set(reference cli.${name}_device_cpu)
  set(pairs "")
  foreach(file IN LISTS files)
    list(APPEND pairs ${cli_scratch}/${reference}/${file} @DIR@/${file})
  endforeach()
  set(needs FIXTURES_REQUIRED ${arg_FIXTURES_REQUIRED} RESOURCE_LOCK ${arg_RESOURCE_LOCK})
  set(compared FIXTURES_REQUIRED ${reference} ${arg_FIXTURES_REQUIRED} RESOURCE_LOCK ${arg_RESOURCE_LOCK} COMPARE ${pairs})
  add_cli_test(NAME ${reference} FIXTURES_SETUP ${reference} ${needs} COMMAND ${arg_COMMAND} --device cpu --threads 1)
  add_cli_test(NAME cli.${name}_device_threads ${compared} TOLERANCE ${threads_tolerance} COMMAND ${arg_COMMAND} --threads 2)
  if(DNABERT_ENABLE_CUDA)
    add_cli_test(NAME cli.${name}_device_cuda GPU ${compared} TOLERANCE ${gpu_tolerance} COMMAND ${arg_COMMAND} --device cuda)
  else()
    add_cli_test(NAME cli.${name}_device_cuda EXPECT_ERROR ${needs}
      OUTPUT "dnabert: error: --device cuda: this dnabert was built without CUDA" COMMAND ${arg_COMMAND} --device cuda)
  endif()
  add_cli_test(NAME cli.${name}_device_bogus EXPECT_ERROR ${needs}
    OUTPUT "dnabert: error: --device bogus: expected cpu, cuda or cuda:N" COMMAND ${arg_COMMAND} --device bogus)
endfunction()

add_device_tests(attention "scores.npy;scores.ids.txt" COMMAND  # a classifier and a pre-trained encoder, every layer
  ${cli} attention --model ${parity}/cls_k6 --combine-with ${parity}/mlm_k3 --input ${three_fa} --output @DIR@/scores.npy
  --layer all)
add_device_tests(plot_attention "strips/seq0.svg;strips/seq1.svg;strips/seq2.svg" COMMAND
  ${cli} plot attention --model ${parity}/cls_k6 --input ${three_fa} --all --output @DIR@/strips)
add_device_tests(plot_heads heads.svg COMMAND
  ${cli} plot heads --model ${parity}/cls_k6 --input ${three_fa} --id seq1 --layer 1 --output @DIR@/heads.svg)
add_device_tests(plot_context context.svg COMMAND
  ${cli} plot context --model ${parity}/cls_k6 --input ${three_fa} --id seq0 --token 0 --threshold 0.02
  --output @DIR@/context.svg)
add_device_tests(plot_landscape landscape.svg COMMAND
  ${cli} plot landscape --model ${parity}/cls_k6 --input ${three_csv} --output @DIR@/landscape.svg)
add_device_tests(motifs "motifs/motifs.meme;motifs/motifs.tsv" COMMAND
  ${cli} motifs --model ${parity}/cls_k6 --input ${three_csv} --output @DIR@/motifs --min-len 3)
add_device_tests(variants_mut_file mutations.tsv COMMAND
  ${cli} variants --model ${parity}/cls_k6 --input ${variants_data}/dev.tsv --mut-file ${variants_data}/mut.txt
  --output @DIR@/mutations.tsv)
add_device_tests(mutate "mutations.tsv;mutations.svg" COMMAND
  ${cli} mutate --model ${parity}/cls_k6 --input ${three_fa} --id seq1 --output @DIR@/mutations.tsv
  --svg @DIR@/mutations.svg --attention)
add_device_tests(evaluate eval.json COMMAND
  ${cli} evaluate --model ${parity}/cls_k6 --input ${three_csv} --output @DIR@/eval.json)
add_device_tests(predict_ensemble predictions.tsv COMMAND  # each model on a backend of its own
  ${cli} predict --model ${parity}/cls3_k3 --model ${data}/models/cls-k6 --input ${data}/ensemble/ensemble.fa
  --output @DIR@/predictions.tsv)
if(TARGET dnabert_hts)
  add_device_tests(variants_vcf out.vcf FIXTURES_REQUIRED cli.variants_setup RESOURCE_LOCK variants_fai COMMAND
    ${cli} variants --model ${parity}/cls_k6 --fasta ${variants_fasta}/ce.fa --vcf ${variants_fasta}/ce_cli.vcf
    --output @DIR@/out.vcf --batch-size 3)
endif()

# --scores runs no model: --device beside it is a mistake, not silently ignored.
add_cli_test(NAME cli.motifs_device_excludes_scores EXPECT_ERROR OUTPUT "--scores excludes --device"
  COMMAND ${cli} motifs --scores ${motif_cli}/planted_scores.npy --input ${motif_cli}/planted.csv --output @DIR@/motifs
          --device cpu)

# --precision: tf32 is CUDA's alone; names are checked; training refuses int8, on every device.
add_cli_test(NAME cli.precision_tf32_needs_cuda EXPECT_ERROR
  OUTPUT "dnabert: error: --precision tf32 needs --device cuda \\(the CPU computes in fp32, bf16 or int8\\)"
  COMMAND ${cli} predict --model ${trained_classifier} --input ${three_fa} --output - --precision tf32)
add_cli_test(NAME cli.cuda_kernels_need_cuda EXPECT_ERROR OUTPUT "dnabert: error: --cuda-kernels fused needs --device cuda"
  COMMAND ${cli} predict --model ${trained_classifier} --input ${three_fa} --output - --cuda-kernels fused)
add_cli_test(NAME cli.cuda_kernels_unknown EXPECT_ERROR OUTPUT "--cuda-kernels: flash not in \\{standard,fused\\}"
  COMMAND ${cli} predict --model ${trained_classifier} --input ${three_fa} --output - --cuda-kernels flash)
add_cli_test(NAME cli.precision_unknown EXPECT_ERROR OUTPUT "--precision: fp16 not in \\{fp32,tf32,bf16,int8\\}"
  COMMAND ${cli} finetune --model ${parity}/cls_k6 --train ${three_csv} --output @DIR@/model --precision fp16)
add_cli_test(NAME cli.finetune_refuses_int8 EXPECT_ERROR
  OUTPUT "dnabert: error: --precision int8 is for inference \\([^)]*\\); train in fp32 or bf16, then run the model in int8"
  COMMAND ${cli} finetune --model ${trained_mlm} --num-labels 2 --train ${three_csv} --dev ${three_csv}
          --output @DIR@/model --max-steps 2 --precision int8)

# --precision bf16 and int8 on the CPU (oneDNN): each says how this CPU runs it, and gives fp32's
# results within its precision. The trained classifier's logits are small (about 0.004, classes
# apart by 0.001), so the tolerances are absolute: 4x what bf16 (2.4e-5) and int8 (6.5e-5) differ
# from fp32 on an AVX512-VNNI Xeon, far inside the class margins, so the classes must be equal.
# How close each is to PyTorch's and ONNX Runtime's own errors is precision_test.cpp's matter.
set(fp32_predictions ${cli_scratch}/cli.precision_predict_fp32/predictions.tsv)
set(precision_note "(^|\n)note: %s GEMMs through oneDNN [0-9]+\\.[0-9]+ on ")
if(DNABERT_BLAS_USED STREQUAL "onednn")
  add_cli_test(NAME cli.precision_predict_fp32 FIXTURES_SETUP cli.precision_predict_fp32 NOT_OUTPUT "GEMMs through"
    COMMAND ${cli} predict --model ${trained_classifier} --input ${three_fa} --output @DIR@/predictions.tsv --threads 1)
  foreach(precision_tolerance IN ITEMS "bf16;1e-4" "int8;3e-4")
    list(GET precision_tolerance 0 precision)
    list(GET precision_tolerance 1 tolerance)
    string(REPLACE "%s" "${precision}" note "${precision_note}")
    add_cli_test(NAME cli.precision_predict_${precision} FIXTURES_REQUIRED cli.precision_predict_fp32 OUTPUT "${note}"
      COMPARE ${fp32_predictions} @DIR@/predictions.tsv TOLERANCE --abs ${tolerance}
      COMMAND ${cli} predict --model ${trained_classifier} --input ${three_fa} --output @DIR@/predictions.tsv
              --threads 1 --precision ${precision})
  endforeach()
  # evaluate in int8 finds fp32's metrics (the three probabilities are 6e-5 apart or more, so the
  # ranking, and with it the AUC, holds).
  add_cli_test(NAME cli.precision_evaluate_fp32 FIXTURES_SETUP cli.precision_evaluate_fp32
    COMMAND ${cli} evaluate --model ${trained_classifier} --input ${three_csv} --output @DIR@/eval.json --threads 1)
  string(REPLACE "%s" "int8" note "${precision_note}")
  add_cli_test(NAME cli.precision_evaluate_int8 FIXTURES_REQUIRED cli.precision_evaluate_fp32 OUTPUT "${note}"
    COMPARE ${cli_scratch}/cli.precision_evaluate_fp32/eval.json @DIR@/eval.json
    COMMAND ${cli} evaluate --model ${trained_classifier} --input ${three_csv} --output @DIR@/eval.json --threads 1
            --precision int8)
  # finetune in bf16 (float32 master weights): four steps log fp32's losses, gradient norms and
  # evaluations within 2 % (bf16 rounds GEMM operands to 8 bits, 0.4 %; measured: 0.32 % at most).
  set(finetune_steps finetune --model ${trained_mlm} --num-labels 2 --train ${three_csv} --dev ${three_csv}
      --output @DIR@/model --max-steps 4 --batch-size 2 --lr 0.01 --threads 1)
  add_cli_test(NAME cli.precision_finetune_fp32 FIXTURES_SETUP cli.precision_finetune_fp32 COMMAND ${cli} ${finetune_steps})
  string(REPLACE "%s" "bf16" note "${precision_note}")
  add_cli_test(NAME cli.precision_finetune_bf16 FIXTURES_REQUIRED cli.precision_finetune_fp32
    OUTPUT "${note}.*best at step [0-9]+: auc [0-9.]+, dev loss [0-9.]+; model in "
    COMPARE ${cli_scratch}/cli.precision_finetune_fp32/model/log.jsonl @DIR@/model/log.jsonl TOLERANCE --rel 2e-2
    COMMAND ${cli} ${finetune_steps} --precision bf16)
else()
  add_cli_test(NAME cli.precision_int8_needs_onednn EXPECT_ERROR
    OUTPUT "dnabert: error: --precision int8 on the CPU needs oneDNN: this dnabert was built without it"
    COMMAND ${cli} predict --model ${trained_classifier} --input ${three_fa} --output - --precision int8)
endif()
