# --device on the commands that run a model for their analysis (attention, plot, motifs, variants,
# mutate), as predict and embed take it: the default and `--device cpu` write the same bytes,
# `--device cuda` runs on a GPU or fails clearly without one, a bad value is named
# (check_device.cmake). Included from CMakeLists.txt, whose variables (cli, parity, ...) it uses.

# A CUDA build probes for a GPU with the CUDA smoke test (exit 77: none visible).
set(device_probe "")
if(DNABERT_ENABLE_CUDA)
  set(device_probe -DGPU_PROBE=$<TARGET_FILE:dnabert_cuda_smoke>)
endif()

# Adds cli.<name>_device_same, _device_cuda and _device_bogus for the command line in ARGN (@OUT@
# standing for its output folder), which must write `files` (a list, relative to that folder).
function(add_device_tests name files)
  foreach(mode same cuda bogus)
    add_test(NAME cli.${name}_device_${mode}
      COMMAND ${CMAKE_COMMAND} -DCLI=${cli} "-DARGS=${ARGN}" "-DFILES=${files}" -DDIR=${scratch}/device/${name}_${mode}
              -DMODE=${mode} ${device_probe} -P ${CMAKE_CURRENT_SOURCE_DIR}/check_device.cmake)
  endforeach()
endfunction()

add_device_tests(attention "scores.npy;scores.ids.txt"  # a classifier and a pre-trained encoder, every layer
  attention --model ${parity}/cls_k6 --combine-with ${parity}/mlm_k3 --input ${three_fa} --output @OUT@/scores.npy
  --layer all --threads 1)
add_device_tests(plot_attention "strips/seq0.svg;strips/seq1.svg;strips/seq2.svg"
  plot attention --model ${parity}/cls_k6 --input ${three_fa} --all --output @OUT@/strips --threads 1)
add_device_tests(plot_heads heads.svg
  plot heads --model ${parity}/cls_k6 --input ${three_fa} --id seq1 --layer 1 --output @OUT@/heads.svg --threads 1)
add_device_tests(plot_context context.svg
  plot context --model ${parity}/cls_k6 --input ${three_fa} --id seq0 --token 0 --threshold 0.02
  --output @OUT@/context.svg --threads 1)
add_device_tests(plot_landscape landscape.svg
  plot landscape --model ${parity}/cls_k6 --input ${three_csv} --output @OUT@/landscape.svg --threads 1)
add_device_tests(motifs "motifs/motifs.meme;motifs/motifs.tsv"
  motifs --model ${parity}/cls_k6 --input ${three_csv} --output @OUT@/motifs --min-len 3 --threads 1)
add_device_tests(variants_mut_file mutations.tsv
  variants --model ${parity}/cls_k6 --input ${variants_data}/dev.tsv --mut-file ${variants_data}/mut.txt
  --output @OUT@/mutations.tsv --threads 1)
add_device_tests(mutate "mutations.tsv;mutations.svg"
  mutate --model ${parity}/cls_k6 --input ${three_fa} --id seq1 --output @OUT@/mutations.tsv --svg @OUT@/mutations.svg
  --attention --threads 1)
if(TARGET dnabert_hts)
  add_device_tests(variants_vcf out.vcf
    variants --model ${parity}/cls_k6 --fasta ${variants_scratch}/ce.fa --vcf ${variants_scratch}/ce_cli.vcf
    --output @OUT@/out.vcf --batch-size 3 --threads 1)
  set_tests_properties(cli.variants_vcf_device_same cli.variants_vcf_device_cuda cli.variants_vcf_device_bogus PROPERTIES
    FIXTURES_REQUIRED variants_fasta RESOURCE_LOCK variants_fai)
endif()

# --scores runs no model: --device beside it is a mistake, not silently ignored.
add_test(NAME cli.motifs_device_excludes_scores
  COMMAND ${cli} motifs --scores ${motif_cli}/planted_scores.npy
          --input ${motif_cli}/planted.csv --output ${scratch}/device/x --device cpu)
set_tests_properties(cli.motifs_device_excludes_scores PROPERTIES PASS_REGULAR_EXPRESSION "--scores excludes --device")

# --precision picks the CUDA element type: on the CPU anything but fp32 is refused, names are checked.
add_test(NAME cli.precision_needs_cuda
  COMMAND ${cli} predict --model ${parity}/cls_k6 --input ${three_fa} --output - --precision bf16)
set_tests_properties(cli.precision_needs_cuda PROPERTIES
  PASS_REGULAR_EXPRESSION "dnabert: error: --precision bf16 needs --device cuda")
add_test(NAME cli.precision_unknown
  COMMAND ${cli} finetune --model ${parity}/cls_k6 --train ${three_csv} --output ${scratch}/device/p --precision fp16)
set_tests_properties(cli.precision_unknown PROPERTIES PASS_REGULAR_EXPRESSION "--precision: fp16 not in \\{fp32,tf32,bf16\\}")
