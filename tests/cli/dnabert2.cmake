# DNABERT-2 folders (issue 23): tiny MosaicBERT models in DNABERT-2's layout (tests/data/dnabert2,
# tests/reference/make_dnabert2_goldens.py). predict, embed and attention against the PyTorch
# reference, tokenized by the tokenizers library; then every other command on a classifier
# fine-tuned here from the masked-LM folder. Included from CMakeLists.txt, whose variables it uses.
set(dnabert2 ${data}/dnabert2)
add_cli_test(NAME cli.dnabert2_predict_matches_reference
  COMPARE ${expected}/predict_dnabert2_cls_k.tsv @DIR@/predictions.tsv TOLERANCE ${golden_tolerance}
  COMMAND ${cli} predict --model ${dnabert2}/cls_k --input ${three_fa} --output @DIR@/predictions.tsv)
add_cli_test(NAME cli.dnabert2_embed_mean_matches_reference
  COMPARE ${expected}/embed_dnabert2_cls_k_mean.txt @DIR@/embed.npy TOLERANCE ${golden_tolerance}
  COMMAND ${cli} embed --model ${dnabert2}/cls_k --input ${three_fa} --output @DIR@/embed.npy --pooling mean)
# Each nucleotide takes the [CLS] attention of the BPE token holding it (the tokenizers library's offsets).
add_cli_test(NAME cli.dnabert2_attention_matches_reference
  COMPARE ${expected}/attention_dnabert2_cls_k.tsv @DIR@/scores.tsv TOLERANCE ${golden_tolerance}
  COMMAND ${cli} attention --model ${dnabert2}/cls_k --input ${three_fa} --output @DIR@/scores.tsv --format tsv --batch-size 2)
add_cli_test(NAME cli.dnabert2_inspect_names_the_architecture
  OUTPUT "tokens:     BPE, tokenizer.json's 200 \\(vocab 200\\)\nblocks:     alibi positions, geglu feed-forward \\(DNABERT-2's MosaicBERT\\)\nlayers:     2, "
  COMMAND ${cli} inspect --model ${dnabert2}/cls_k)
add_cli_test(NAME cli.dnabert2_per_token_embeddings_name_bpe_tokens
  OUTPUT "^id\ttoken\tpiece\tkmer\tstart\nseq0\t0\t0\t\\[CLS\\]\t-1\nseq0\t1\t0\tT\t0\nseq0\t2\t0\tC\t1\nseq0\t3\t0\tGGTT\t2\nseq0\t4\t0\t\\[UNK\\]\t6\n"
  COMMAND sh -c "${cli} embed --model ${dnabert2}/cls_k --input ${three_fa} --output @DIR@/tokens.npy --pooling none && cat @DIR@/tokens.tokens.tsv")

# Fine-tuned from the masked-LM folder: the saved folder keeps DNABERT-2's layout and tokenizer.
set(dnabert2_tuned ${cli_scratch}/cli.dnabert2_finetune_from_mlm/model)
add_cli_test(NAME cli.dnabert2_finetune_from_mlm FIXTURES_SETUP cli.dnabert2_finetune_from_mlm
  OUTPUT "best at step [0-9]+: [^\n]*; model in [^\n]*/model\n"
  COMMAND ${cli} finetune --model ${dnabert2}/mlm --train ${three_csv} --dev ${three_csv} --output @DIR@/model
          --max-steps 3 --batch-size 2 --threads 1)
add_cli_test(NAME cli.dnabert2_finetuned_folder_has_dnabert2_layout FIXTURES_REQUIRED cli.dnabert2_finetune_from_mlm
  OUTPUT "bert\\.encoder\\.layer\\.0\\.attention\\.self\\.Wqkv\\.weight.*mlp\\.gated_layers\\.weight.*alibi_starting_size.*tokenizer\\.json"
  COMMAND sh -c "head -c 4000 ${dnabert2_tuned}/model.safetensors | tr -c '[:print:]' '\\n' | grep -o 'bert[.a-zA-Z0-9_]*' | sort && cat ${dnabert2_tuned}/config.json && ls ${dnabert2_tuned}")
add_cli_test(NAME cli.dnabert2_evaluate FIXTURES_REQUIRED cli.dnabert2_finetune_from_mlm
  OUTPUT "\"mcc\"" NOT_OUTPUT "nan"
  COMMAND sh -c "${cli} evaluate --model ${dnabert2_tuned} --input ${three_csv} --output @DIR@/eval.json && cat @DIR@/eval.json")
add_cli_test(NAME cli.dnabert2_scan FIXTURES_REQUIRED cli.dnabert2_finetune_from_mlm
  OUTPUT "scan: 7 contigs, 2850 nt in [0-9]+ windows of 100 nt every 50 nt: [0-9]+ scored" NOT_OUTPUT "nan"
  COMMAND ${cli} scan --model ${dnabert2_tuned} --fasta /usr/share/htslib-test/test/ce.fa --regions ${data}/scan/ce_regions.bed
          --window 100 --stride 50 --output @DIR@/ce.bedGraph --threads 1)
add_cli_test(NAME cli.dnabert2_variants_mut_file FIXTURES_REQUIRED cli.dnabert2_finetune_from_mlm
  OUTPUT "variants: 7 mutations of 3 sequences scored"
  COMMAND ${cli} variants --model ${dnabert2_tuned} --input ${variants_data}/dev.tsv --mut-file ${variants_data}/mut.txt
          --output @DIR@/mutations.tsv --threads 1)
add_cli_test(NAME cli.dnabert2_mutate FIXTURES_REQUIRED cli.dnabert2_finetune_from_mlm
  OUTPUT "mutate: 202 mutants of seq1 \\(67 nt, wild type P\\(class 1\\) [0-9.]+\\)"
  COMMAND ${cli} mutate --model ${dnabert2_tuned} --input ${three_fa} --id seq1 --output @DIR@/mutations.tsv --svg @DIR@/map.svg
          --attention --threads 1)
add_cli_test(NAME cli.dnabert2_motifs FIXTURES_REQUIRED cli.dnabert2_finetune_from_mlm
  OUTPUT "motifs from 2 positives and 1 negatives; written to" NOT_OUTPUT "error"
  COMMAND ${cli} motifs --model ${dnabert2_tuned} --input ${three_csv} --output @DIR@/motifs --min-len 3 --threads 1)
add_cli_test(NAME cli.dnabert2_plot_attention FIXTURES_REQUIRED cli.dnabert2_finetune_from_mlm
  OUTPUT "<svg" COMMAND sh -c "${cli} plot attention --model ${dnabert2_tuned} --input ${three_fa} --id seq1 --output @DIR@/strip.svg --threads 1 && head -c 200 @DIR@/strip.svg")
add_cli_test(NAME cli.dnabert2_pretrain_continues_the_mlm
  OUTPUT "BPE, 200 tokens.*pre-trained 2 steps"
  COMMAND ${cli} pretrain --model ${dnabert2}/mlm --input ${genome} --output @DIR@/model --max-steps 2 --batch-size 4 --threads 1)
add_cli_test(NAME cli.dnabert2_tokenize_follows_the_folder OUTPUT "^id\tids\nseq0\t1 "
  COMMAND ${cli} tokenize --model ${dnabert2}/cls_k --input ${three_fa})
# int8 (the exact int8 layout of a quantized DNABERT-2 folder: dnabert2_parity_test.cpp): a tiny random model's
# logits move by up to 0.15 when weights and activations are rounded to int8; a misplaced scale moves them by far more.
if(DNABERT_BLAS_USED STREQUAL "onednn")
  add_cli_test(NAME cli.dnabert2_quantized_predicts_close_to_float
    COMPARE ${expected}/predict_dnabert2_cls_k.tsv @DIR@/predictions.tsv TOLERANCE --rel 0 --abs 0.25
    COMMAND sh -c "${cli} quantize --model ${dnabert2}/cls_k --output @DIR@/int8 > /dev/null && ${cli} predict --model @DIR@/int8 --input ${three_fa} --output @DIR@/predictions.tsv --precision int8")
endif()
if(TARGET dnabert_hts)  # VCF mode: windows of 510 nt (a BPE model's default) around each allele
  add_cli_test(NAME cli.dnabert2_variants_vcf FIXTURES_REQUIRED "cli.variants_setup;cli.dnabert2_finetune_from_mlm"
    RESOURCE_LOCK variants_fai
    OUTPUT "variants: 10 alleles in 9 records: 6 scored, 4 skipped \\(1 symbolic, breakend or non-ACGTN allele, 1 contig named with/without 'chr', 1 position outside the contig, 1 REF mismatch\\)"
    COMMAND ${cli} variants --model ${dnabert2_tuned} --fasta ${variants_fasta}/ce.fa --vcf ${variants_fasta}/ce_cli.vcf
            --output @DIR@/out.vcf --threads 1)
endif()
