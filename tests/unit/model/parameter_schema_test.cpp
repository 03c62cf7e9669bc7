// The parameter schema (core/bert_config.hpp's bert_parameters, which loaders and savers follow)
// and the parameters the nn layers register are written separately: this ties them together for
// every head on every model configuration among the fixtures.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "dnabert/core/bert_config.hpp"
#include "dnabert/cpu.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/model/bert.hpp"
#include "test_paths.hpp"

namespace model_parameter_schema_test {

namespace {

using dnabert::bert_head;

// Every config.json of a DNABERT folder under tests/data (model folders, parity and trained
// fixtures), sorted; DNABERT-2's (a tokenizer.json beside it) are another architecture.
std::vector<std::filesystem::path> fixture_configs() {
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dnabert::test::data_path("")))
    if (entry.is_regular_file() && entry.path().filename() == "config.json" &&
        !std::filesystem::exists(entry.path().parent_path() / "tokenizer.json"))
      found.push_back(entry.path());
  std::sort(found.begin(), found.end());
  return found;
}

// "NAME [d0, d1]" for the schema's entries, with " tied to OTHER" for tied ones.
std::vector<std::string> schema_lines(const std::vector<dnabert::parameter_spec>& specs) {
  std::vector<std::string> lines;
  for (const auto& spec : specs)
    lines.push_back(spec.name + " " + dnabert::shape_to_string(spec.shape) +
                    (spec.presence == dnabert::parameter_presence::tied ? " tied to " + spec.tied_to : ""));
  return lines;
}

// The same rendering of what the model registered; an alias is tied to the parameter whose
// storage it shares.
template <class B>
std::vector<std::string> registered_lines(const dnabert::nn::parameter_list<B>& params) {
  std::vector<std::string> lines;
  for (const auto& item : params.items()) {
    std::string line = item.name + " " + dnabert::shape_to_string(item.value.value().shape());
    if (item.alias) {
      const auto owner = std::find_if(params.items().begin(), params.items().end(), [&](const auto& other) {
        return !other.alias && other.value.value().data() == item.value.value().data();
      });
      line += " tied to " + (owner == params.items().end() ? std::string("nothing") : owner->name);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

// Where two renderings part, for the failure message.
std::string first_difference(const std::vector<std::string>& registered, const std::vector<std::string>& schema) {
  std::size_t i = 0;
  while (i < registered.size() && i < schema.size() && registered[i] == schema[i]) ++i;
  const auto at = [i](const std::vector<std::string>& lines) { return i < lines.size() ? lines[i] : "(end)"; };
  return "entry " + std::to_string(i) + ": model registers '" + at(registered) + "', schema lists '" + at(schema) + "'";
}

}  // namespace

TEST_CASE("parameter schema: the model registers exactly bert_parameters for every head and fixture config") {
  const auto configs = fixture_configs();
  REQUIRE(configs.size() >= 10);  // models/ (4), parity/ (4), trained/ (2)
  dnabert::backend::cpu cpu(1);
  for (const auto& path : configs) {
    const dnabert::bert_config config = dnabert::io::read_config_json(path.string());
    for (const bert_head head : {bert_head::none, bert_head::masked_lm, bert_head::sequence_classification}) {
      CAPTURE(path.string());
      CAPTURE(dnabert::architecture_name(head));
      const dnabert::cpu_bert<> model(cpu, config, head, 1);
      // In order, both ways: nothing missing, nothing extra, same shapes, same ties.
      const auto registered = registered_lines(model.parameters());
      const auto schema = schema_lines(dnabert::bert_parameters(config, head));
      CHECK_MESSAGE(registered == schema, first_difference(registered, schema));
    }
  }
}

}  // namespace model_parameter_schema_test
