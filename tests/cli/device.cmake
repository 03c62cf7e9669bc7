# --device on the commands that run a model for their analysis (attention, plot, motifs, variants,
# mutate), as predict and embed take it. Included from CMakeLists.txt, whose variables it uses.
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
if(TARGET dnabert_hts)
  add_device_tests(variants_vcf out.vcf FIXTURES_REQUIRED cli.variants_setup RESOURCE_LOCK variants_fai COMMAND
    ${cli} variants --model ${parity}/cls_k6 --fasta ${variants_fasta}/ce.fa --vcf ${variants_fasta}/ce_cli.vcf
    --output @DIR@/out.vcf --batch-size 3)
endif()

# --scores runs no model: --device beside it is a mistake, not silently ignored.
add_cli_test(NAME cli.motifs_device_excludes_scores EXPECT_ERROR OUTPUT "--scores excludes --device"
  COMMAND ${cli} motifs --scores ${motif_cli}/planted_scores.npy --input ${motif_cli}/planted.csv --output @DIR@/motifs
          --device cpu)

# --precision: tf32 is the GPU's only (the CPU computes fp32, bf16 or int8), names are checked.
add_cli_test(NAME cli.precision_needs_cuda EXPECT_ERROR OUTPUT "dnabert: error: --precision tf32 needs --device cuda"
  COMMAND ${cli} predict --model ${parity}/cls_k6 --input ${three_fa} --output - --precision tf32)
add_cli_test(NAME cli.precision_unknown EXPECT_ERROR OUTPUT "--precision: fp16 not in \\{fp32,tf32,bf16,int8\\}"
  COMMAND ${cli} finetune --model ${parity}/cls_k6 --train ${three_csv} --output @DIR@/model --precision fp16)
