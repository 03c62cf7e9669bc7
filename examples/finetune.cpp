// Fine-tuning a pre-trained DNABERT folder into a classifier with the library, then loading
// the result back for prediction: a fresh head on a masked-LM checkpoint, dev metrics, best model.
#include <dnabert/dnabert.hpp>

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) try {
  if (argc != 5) return std::cerr << "usage: dnabert_finetune_example PRETRAINED_DIR TRAIN DEV OUT_DIR\n", 2;
  const std::string pretrained = argv[1], out_dir = argv[4];

  // cpu_bert<> reads every size from config.json. The encoder and pooler come from the folder; a
  // masked-LM checkpoint has no classifier, so a 2-class one is initialised from the seed.
  dnabert::backend::cpu cpu;
  auto model = dnabert::cpu_bert<>::load(cpu, pretrained, dnabert::bert_head::sequence_classification, /*seed=*/42,
                                     /*num_labels=*/2);
  for (const auto& name : model.new_parameters()) std::cout << "new (initialised): " << name << '\n';

  // DNABERT TSV, DNABERT-2 CSV or labelled FASTA, tokenized once with the model's k; longer
  // sequences are cut to one piece (the model's positions), as DNABERT's max_seq_length does.
  const auto train_entries = dnabert::io::read_sequences(argv[2]);
  const auto dev_entries = dnabert::io::read_sequences(argv[3]);
  const dnabert::train::labelled_dataset train_set(train_entries, model.tokenizer(), model.max_kmers());
  const dnabert::train::labelled_dataset dev_set(dev_entries, model.tokenizer(), model.max_kmers());

  dnabert::train::finetune_options options;  // DNABERT's recipe: AdamW 2e-4, 10 % warmup
  options.epochs = 3;
  options.batch_size = 16;
  options.best_metric = "mcc";  // the model kept in OUT_DIR is the best dev MCC seen
  options.progress = [](const dnabert::train::step_report& r) {
    std::cout << "step " << r.step << '/' << r.total_steps << "  loss " << r.loss << '\n';
  };

  // Evaluates on the dev set at each epoch's end; log.jsonl and curves.svg land in OUT_DIR too.
  const auto summary = dnabert::train::finetune(model, train_set, dev_set, options, out_dir);
  std::cout << "best at step " << summary.best->step << ": " << summary.best->metrics.dump() << '\n';

  // The saved folder is an ordinary Hugging Face model: load it as a user would, and predict.
  const auto classifier = dnabert::load_classifier(out_dir);
  const auto& first = dev_entries.front();
  const auto result = classifier.predict(std::vector<std::string>{first.sequence});
  std::cout << first.id << ": predicted class " << result.predicted[0]
            << " (P(class 1) = " << result.probabilities(0, 1) << "), label " << *first.label << '\n';
} catch (const std::exception& error) {  // dnabert's errors say which file, line or field
  std::cerr << "error: " << error.what() << '\n';
  return 1;
}
