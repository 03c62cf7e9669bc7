# No silent heads (issue 17 §1): every command that would read a classifier (or pooler) initialised
# at load refuses the folder, naming the tensors and what to do; `finetune` still takes it; inspect
# names the heads a folder holds; loading warnings reach stderr. Included from CMakeLists.txt, whose
# variables it uses. Folders that no fixture holds are made at run time by edit_model_folder.
add_executable(edit_model_folder edit_model_folder.cpp)
target_link_libraries(edit_model_folder PRIVATE dnabert::dnabert dnabert_project_flags)
add_dependencies(dnabert_cli edit_model_folder)  # built with the program it tests
set(edit_folder $<TARGET_FILE:edit_model_folder>)

# --- A pre-trained masked-LM folder (transformers' BertForMaskedLM: no pooler, no classifier). ---
set(mlm ${parity}/mlm_k3)
set(finetune_hint "fine-tune it first: dnabert finetune --model [^\n]*mlm_k3 --train TRAIN --dev DEV --output OUT")
set(initialised "bert\\.pooler\\.dense\\.weight, bert\\.pooler\\.dense\\.bias, classifier\\.weight, classifier\\.bias are not in its weights, so they were initialised at random when it was loaded")
set(no_classifier "dnabert: error: [^\n]*mlm_k3 has no trained classifier head: ${initialised}, and its predictions would be noise \\(a pre-trained masked-LM folder holds none\\); ${finetune_hint}")
add_cli_test(NAME cli.predict_refuses_untrained_head EXPECT_ERROR OUTPUT "${no_classifier}"
  COMMAND ${cli} predict --model ${mlm} --input ${three_fa} --output @DIR@/predictions.tsv)
add_cli_test(NAME cli.evaluate_refuses_untrained_head EXPECT_ERROR OUTPUT "${no_classifier}"
  COMMAND ${cli} evaluate --model ${mlm} --input ${three_csv} --output @DIR@/eval.json)
add_cli_test(NAME cli.scan_refuses_untrained_head EXPECT_ERROR OUTPUT "${no_classifier}"
  COMMAND ${cli} scan --model ${mlm} --fasta /usr/share/htslib-test/test/ce.fa --regions ${data}/scan/ce_regions.bed
          --output @DIR@/scan.bedGraph)
add_cli_test(NAME cli.variants_refuses_untrained_head EXPECT_ERROR OUTPUT "${no_classifier}"
  COMMAND ${cli} variants --model ${mlm} --input ${variants_data}/dev.tsv --mut-file ${variants_data}/mut.txt
          --output @DIR@/mutations.tsv)
add_cli_test(NAME cli.mutate_refuses_untrained_head EXPECT_ERROR OUTPUT "${no_classifier}"
  COMMAND ${cli} mutate --model ${mlm} --input ${three_fa} --id seq1 --output @DIR@/mutations.tsv)
add_cli_test(NAME cli.motifs_refuses_untrained_head EXPECT_ERROR
  OUTPUT "dnabert: error: [^\n]*mlm_k3 was not fine-tuned: ${initialised}; motif discovery reads the attention of a model fine-tuned to tell positives from negatives, so ${finetune_hint}[^\n]* \\(or give attention scores computed beforehand, `dnabert motifs --scores`\\)"
  COMMAND ${cli} motifs --model ${mlm} --input ${three_csv} --output @DIR@/motifs --min-len 3)
add_cli_test(NAME cli.embed_pooler_refuses_untrained_pooler EXPECT_ERROR
  OUTPUT "dnabert: error: [^\n]*mlm_k3 has no trained pooler: bert\\.pooler\\.dense\\.weight, bert\\.pooler\\.dense\\.bias are not in its weights, so they were initialised at random when it was loaded, and pooler embeddings would be noise; embed with cls or mean pooling \\(the encoder's own outputs\\), or ${finetune_hint}"
  COMMAND ${cli} embed --model ${mlm} --input ${three_fa} --output @DIR@/embed.npy --pooling pooler)
# What reads the encoder only takes the folder, saying on stderr that its masked-LM head goes unused
# (first: a progress line may follow, on a machine slow enough).
set(unused_mlm_head "warning: [^\n]*mlm_k3/model\\.safetensors: unused masked-LM head cls\\.predictions\\.\\* \\(5 tensors, not part of BertForSequenceClassification\\)\n")
add_cli_test(NAME cli.embed_cls_of_pretrained_folder OUTPUT "^${unused_mlm_head}" NOT_OUTPUT "error"
  COMMAND ${cli} embed --model ${mlm} --input ${three_fa} --output @DIR@/embed.npy --pooling cls)
add_cli_test(NAME cli.finetune_takes_pretrained_folder
  OUTPUT "^${unused_mlm_head}note: new \\(initialised\\): bert\\.pooler\\.dense\\.weight\nnote: new \\(initialised\\): bert\\.pooler\\.dense\\.bias\nnote: new \\(initialised\\): classifier\\.weight\nnote: new \\(initialised\\): classifier\\.bias\n.*best at step 1: "
  COMMAND ${cli} finetune --model ${mlm} --train ${three_csv} --dev ${three_csv} --output @DIR@/model --max-steps 1
          --batch-size 3 --metric acc --threads 1)

# --- inspect: which heads the weights hold, whatever config.json's architectures (or --head) say. ---
set(needs_finetune "; no trained classifier: fine-tune it \\(dnabert finetune\\) before predict, evaluate, scan, variants, mutate or motifs\n")
add_cli_test(NAME cli.inspect_classifier OUTPUT "\nheads:      trained classifier, 2 labels\n" COMMAND ${cli} inspect --model ${parity}/cls_k6)
add_cli_test(NAME cli.inspect_classifier_label_names OUTPUT "\nheads:      trained classifier, 3 labels: promoter, enhancer, other\n"
  COMMAND ${cli} inspect --model ${data}/models/cls-k6)
add_cli_test(NAME cli.inspect_regression OUTPUT "\nheads:      trained regression head \\(1 score\\)\n" COMMAND ${cli} inspect --model ${parity}/reg_k6)
add_cli_test(NAME cli.inspect_masked_lm OUTPUT "\nheads:      masked-LM \\(pre-trained\\)${needs_finetune}"
  COMMAND ${cli} inspect --model ${mlm})
add_cli_test(NAME cli.inspect_masked_lm_read_as_encoder OUTPUT "\nheads:      masked-LM \\(pre-trained\\)${needs_finetune}"
  COMMAND ${cli} inspect --model ${mlm} --head none)
set(both_heads ${cli_scratch}/cli.heads_both_folder/model)
add_cli_test(NAME cli.heads_both_folder FIXTURES_SETUP cli.heads_both_folder
  COMMAND ${edit_folder} ${mlm} @DIR@/model bert.pooler.dense.weight:32x32 bert.pooler.dense.bias:32 classifier.weight:2x32
          classifier.bias:2)
add_cli_test(NAME cli.inspect_both_heads FIXTURES_REQUIRED cli.heads_both_folder
  OUTPUT "\nheads:      masked-LM and trained classifier, 2 labels\n" COMMAND ${cli} inspect --model ${both_heads})
add_cli_test(NAME cli.predict_takes_classifier_beside_mlm_head FIXTURES_REQUIRED cli.heads_both_folder STDOUT_ONLY
  OUTPUT "^id\tpredicted\tprob_0\tprob_1\tlogit_0\tlogit_1\nseq0\t"
  COMMAND ${cli} predict --model ${both_heads} --input ${three_fa} --output -)
set(encoder_only ${cli_scratch}/cli.heads_encoder_folder/model)
add_cli_test(NAME cli.heads_encoder_folder FIXTURES_SETUP cli.heads_encoder_folder
  COMMAND ${edit_folder} ${mlm} @DIR@/model --drop cls.)
add_cli_test(NAME cli.inspect_encoder_only FIXTURES_REQUIRED cli.heads_encoder_folder
  OUTPUT "\nheads:      none \\(encoder only\\)${needs_finetune}" COMMAND ${cli} inspect --model ${encoder_only} --head none)

# --- Loading warnings on stderr: cls_k6 with a tensor no head uses and no vocab.txt. The tensor
# changes nothing: predictions are still transformers'. (DNABERT-XL's rnn.* is refused instead:
# cli.predict_long_refuses_dnalong.) ---
set(extra_tensor ${cli_scratch}/cli.heads_extra_tensor_folder/model)
add_cli_test(NAME cli.heads_extra_tensor_folder FIXTURES_SETUP cli.heads_extra_tensor_folder
  COMMAND ${edit_folder} ${parity}/cls_k6 @DIR@/model --no-vocab adapter.weight:128x32)
set(loading_warnings "warning: [^\n]*/model: no vocab\\.txt; using DNABERT's k=6 vocabulary\nwarning: [^\n]*/model/model\\.safetensors: unused tensor adapter\\.weight \\[128, 32\\] \\(not part of BertForSequenceClassification\\)\n")
add_cli_test(NAME cli.predict_prints_loading_warnings FIXTURES_REQUIRED cli.heads_extra_tensor_folder
  OUTPUT "^${loading_warnings}"
  COMPARE ${expected}/predict_cls_k6.tsv @DIR@/predictions.tsv TOLERANCE ${golden_tolerance}
  COMMAND ${cli} predict --model ${extra_tensor} --input ${three_fa} --output @DIR@/predictions.tsv)
add_cli_test(NAME cli.attention_prints_loading_warnings FIXTURES_REQUIRED cli.heads_extra_tensor_folder
  OUTPUT "^${loading_warnings}" COMMAND ${cli} attention --model ${extra_tensor} --input ${three_fa} --output @DIR@/scores.npy)
add_cli_test(NAME cli.inspect_prints_loading_warnings FIXTURES_REQUIRED cli.heads_extra_tensor_folder
  OUTPUT "\n${loading_warnings}" COMMAND ${cli} inspect --model ${extra_tensor})
add_cli_test(NAME cli.finetune_prints_loading_warnings FIXTURES_REQUIRED cli.heads_extra_tensor_folder
  OUTPUT "^${loading_warnings}.*best at step 1: "
  COMMAND ${cli} finetune --model ${extra_tensor} --train ${three_csv} --dev ${three_csv} --output @DIR@/model
          --max-steps 1 --batch-size 3 --metric acc --threads 1)

# --- A classifier folder whose classifier.* is missing (config.json still says
# BertForSequenceClassification): predict names just those two tensors; plot draws the attention
# without a prediction in its titles, and says so. ---
set(headless ${cli_scratch}/cli.heads_headless_classifier_folder/model)
add_cli_test(NAME cli.heads_headless_classifier_folder FIXTURES_SETUP cli.heads_headless_classifier_folder
  COMMAND ${edit_folder} ${parity}/cls_k6 @DIR@/model --drop classifier.)
add_cli_test(NAME cli.predict_names_the_missing_classifier EXPECT_ERROR FIXTURES_REQUIRED cli.heads_headless_classifier_folder
  OUTPUT "dnabert: error: [^\n]*/model has no trained classifier head: classifier\\.weight, classifier\\.bias are not in its weights, so they were initialised at random when it was loaded"
  COMMAND ${cli} predict --model ${headless} --input ${three_fa} --output @DIR@/predictions.tsv)
add_cli_test(NAME cli.plot_without_trained_classifier FIXTURES_REQUIRED cli.heads_headless_classifier_folder
  OUTPUT "note: [^\n]*/model has no trained classifier head \\(classifier\\.weight, classifier\\.bias initialised at load\\): the titles show no prediction\n.*attention strip of seq1 written to"
  COMMAND ${cli} plot attention --model ${headless} --input ${three_fa} --id seq1 --output @DIR@/strip.svg --threads 1)
