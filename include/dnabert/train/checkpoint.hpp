#pragma once
// Training checkpoints that never lose work: a Hugging Face model folder plus the optimizer's
// moments (optimizer.safetensors) and where the run stood (trainer_state.json), put in place whole.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "dnabert/core/error.hpp"
#include "dnabert/io/atomic_file.hpp"
#include "dnabert/io/config_json.hpp"
#include "dnabert/io/safetensors.hpp"
#include "dnabert/model/bert.hpp"
#include "dnabert/train/optimizer.hpp"

namespace dnabert::train {

/// File names inside a checkpoint folder, besides the model's own.
inline constexpr std::string_view optimizer_file = "optimizer.safetensors";
inline constexpr std::string_view trainer_state_file = "trainer_state.json";
/// Prefix of the checkpoint folders in an output folder: checkpoint-<step>.
inline constexpr std::string_view checkpoint_prefix = "checkpoint-";
/// Suffixes of checkpoint folders being filled or removed: not checkpoints, whatever they hold.
inline constexpr std::string_view partial_suffix = ".partial";
inline constexpr std::string_view removing_suffix = ".removing";

/// Where a run stood after an optimizer step. Every random draw of a run (data order, piece
/// cuts, masking, dropout) is a counter-based function of (seed, micro-batch), so the seed and
/// the step are its whole RNG state: resuming redraws exactly what the uninterrupted run drew.
struct trainer_state {
  std::string kind;                      ///< "pretrain" or "finetune"
  std::int64_t step = 0;                 ///< optimizer steps done
  std::int64_t total_steps = 0;          ///< steps the run was planned for (the schedule's length)
  std::uint64_t seed = 0;                ///< the run's seed
  std::int64_t batch_size = 0;           ///< sequences per micro-batch
  std::int64_t gradient_accumulation_steps = 1;
  std::int64_t epoch = 0;                ///< epoch of the next micro-batch
  std::int64_t tokens_seen = 0;          ///< tokens (with [CLS]/[SEP], without padding) trained on
  std::int64_t skipped_steps = 0;        ///< steps skipped for a non-finite loss or gradient
  std::optional<double> best_score;      ///< best evaluation score so far (higher is better)
  std::int64_t best_step = 0;            ///< step of the best evaluation
  std::int64_t evaluations_without_improvement = 0;

  /// The state as trainer_state.json holds it.
  [[nodiscard]] nlohmann::json to_json() const {
    nlohmann::json j{{"format", "dnabert-trainer-state"},
                     {"version", 1},
                     {"kind", kind},
                     {"step", step},
                     {"total_steps", total_steps},
                     {"seed", seed},
                     {"batch_size", batch_size},
                     {"gradient_accumulation_steps", gradient_accumulation_steps},
                     {"epoch", epoch},
                     {"tokens_seen", tokens_seen},
                     {"skipped_steps", skipped_steps},
                     {"best_step", best_step},
                     {"evaluations_without_improvement", evaluations_without_improvement},
                     {"rng", {{"generator", "counter-based (splitmix64 of seed and micro-batch; dropout masks Philox4x32-10)"},
                              {"seed", seed},
                              {"next_micro_batch", step * gradient_accumulation_steps}}}};
    j["best_score"] = best_score ? nlohmann::json(*best_score) : nlohmann::json(nullptr);
    return j;
  }

  /// Reads the state from trainer_state.json's object `j` (from `source`); throws format_error
  /// naming what is wrong.
  static trainer_state from_json(const nlohmann::json& j, const std::string& source) {
    if (!j.is_object() || !j.contains("format") || j["format"] != "dnabert-trainer-state")
      throw format_error(source, "not a dnabert trainer state (no \"format\": \"dnabert-trainer-state\")");
    if (!j.contains("version") || j["version"] != 1)
      throw format_error(source, "trainer state version " + j["version"].dump() + " is not supported (expected 1)");
    const auto integer = [&](const char* key, std::int64_t minimum) {
      const auto found = j.find(key);
      if (found == j.end() || !found->is_number_integer())
        throw format_error(source, std::string("\"") + key + "\" must be an integer");
      const auto value = found->get<std::int64_t>();
      if (value < minimum)
        throw format_error(source, std::string("\"") + key + "\" is " + std::to_string(value) + ", below " +
                                       std::to_string(minimum));
      return value;
    };
    trainer_state s;
    if (!j.contains("kind") || !j["kind"].is_string()) throw format_error(source, "\"kind\" must be a string");
    s.kind = j["kind"].get<std::string>();
    s.step = integer("step", 0);
    s.total_steps = integer("total_steps", 0);
    if (!j.contains("seed") || !j["seed"].is_number_unsigned())
      throw format_error(source, "\"seed\" must be a non-negative integer");
    s.seed = j["seed"].get<std::uint64_t>();
    s.batch_size = integer("batch_size", 1);
    s.gradient_accumulation_steps = integer("gradient_accumulation_steps", 1);
    s.epoch = integer("epoch", 0);
    s.tokens_seen = integer("tokens_seen", 0);
    s.skipped_steps = integer("skipped_steps", 0);
    s.best_step = integer("best_step", 0);
    s.evaluations_without_improvement = integer("evaluations_without_improvement", 0);
    const auto best = j.find("best_score");
    if (best != j.end() && !best->is_null()) {
      if (!best->is_number()) throw format_error(source, "\"best_score\" must be a number or null");
      s.best_score = best->get<double>();
    }
    return s;
  }
};

/// The step of a folder named checkpoint-<step>, or nothing for any other name.
inline std::optional<std::int64_t> checkpoint_step(std::string_view folder_name) {
  if (!folder_name.starts_with(checkpoint_prefix)) return std::nullopt;
  const std::string_view digits = folder_name.substr(checkpoint_prefix.size());
  std::int64_t step = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || step < 0) return std::nullopt;
  return step;
}

/// Complete checkpoint folders in `output_dir` (those holding trainer_state.json), by step.
inline std::vector<std::pair<std::int64_t, std::filesystem::path>> list_checkpoints(const std::string& output_dir) {
  std::vector<std::pair<std::int64_t, std::filesystem::path>> found;
  std::error_code ec;
  if (!std::filesystem::is_directory(output_dir, ec)) return found;
  for (const auto& entry : std::filesystem::directory_iterator(output_dir, ec)) {
    const auto step = checkpoint_step(entry.path().filename().string());
    if (step && std::filesystem::exists(entry.path() / trainer_state_file, ec)) found.emplace_back(*step, entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

/// The newest complete checkpoint in `output_dir`; throws input_error when there is none.
inline std::string latest_checkpoint(const std::string& output_dir) {
  const auto found = list_checkpoints(output_dir);
  if (found.empty())
    throw input_error("nothing to resume: " + output_dir + " holds no complete checkpoint-<step>/ folder");
  return found.back().second.string();
}

/// Removes folder `dir` so that a process killed meanwhile leaves no part of it under its name:
/// it is renamed to <dir>.removing first, which no reader takes for a checkpoint.
inline void remove_checkpoint_folder(const std::filesystem::path& dir) {
  std::filesystem::path doomed = dir;
  doomed += removing_suffix;
  std::error_code ec;
  std::filesystem::remove_all(doomed, ec);  // left by a killed run
  std::filesystem::rename(dir, doomed);
  std::filesystem::remove_all(doomed);
}

/// Removes what killed runs left in `output_dir`: checkpoint folders half written (.partial) or
/// half removed (.removing), and the temporary files of atomic writes whose writer is gone.
/// Call it only while no other run writes into `output_dir`.
inline void remove_abandoned_files(const std::string& output_dir) {
  std::vector<std::filesystem::path> abandoned;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(output_dir, ec)) {
    const std::string name = entry.path().filename().string();
    for (const std::string_view suffix : {partial_suffix, removing_suffix})
      if (name.ends_with(suffix) && checkpoint_step(std::string_view(name).substr(0, name.size() - suffix.size())))
        abandoned.push_back(entry.path());
  }
  for (const auto& folder : abandoned) std::filesystem::remove_all(folder);
  io::remove_abandoned_temporaries(output_dir);
}

/// Whether `dir` holds training state (a checkpoint rather than a plain model folder).
inline bool holds_training_state(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(dir) / optimizer_file, ec) ||
         std::filesystem::exists(std::filesystem::path(dir) / trainer_state_file, ec);
}

/// Reads trainer_state.json of checkpoint folder `dir`.
inline trainer_state read_trainer_state(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / trainer_state_file).string();
  return trainer_state::from_json(io::read_json_object(path), path);
}

/// Writes checkpoint folder `dir` (model, optimizer.safetensors, trainer_state.json). The folder
/// is filled under a temporary name and renamed into place, so `dir` is either absent or whole;
/// an older folder of the same name is replaced.
template <class Spec, class B>
void save_checkpoint(const std::string& dir, const Bert<Spec, B>& model, const adamw<B>& optimizer,
                     const trainer_state& state) {
  namespace fs = std::filesystem;
  const fs::path target(dir);
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  fs::create_directories(parent);
  // A partial folder left by a killed run is not a checkpoint (its name does not parse) and is
  // simply replaced.
  const fs::path temporary = parent / (target.filename().string() + std::string(partial_suffix));
  std::error_code ec;
  fs::remove_all(temporary, ec);
  // An older folder of the same name steps aside (whole, under a name no reader takes) only once
  // the new one is complete, and is deleted only once the new one is in place: at no moment is
  // neither on disk, and a failure puts the old one back.
  fs::path replaced = target;
  replaced += removing_suffix;
  bool stepped_aside = false;
  try {
    model.save(temporary.string());
    io::write_safetensors((temporary / optimizer_file).string(), optimizer.state());
    io::write_file_atomically((temporary / trainer_state_file).string(), state.to_json().dump(2) + "\n");
    if (fs::exists(target)) {
      fs::remove_all(replaced, ec);  // left by a killed run
      fs::rename(target, replaced);
      stepped_aside = true;
    }
    fs::rename(temporary, target);
    io::sync_directory(parent.string());
  } catch (...) {
    fs::remove_all(temporary, ec);
    if (stepped_aside && !fs::exists(target, ec)) fs::rename(replaced, target, ec);
    throw;
  }
  if (stepped_aside) fs::remove_all(replaced);
}

/// Removes all but the newest `keep` checkpoint folders of `output_dir` (keep 0: remove none).
inline void rotate_checkpoints(const std::string& output_dir, std::size_t keep) {
  if (keep == 0) return;
  const auto found = list_checkpoints(output_dir);
  for (std::size_t i = 0; i + keep < found.size(); ++i) remove_checkpoint_folder(found[i].second);
}

/// The optimizer state saved in checkpoint folder `dir` (adamw::state() as written).
inline io::tensor_map read_optimizer_state(const std::string& dir) {
  return io::read_safetensors((std::filesystem::path(dir) / optimizer_file).string()).tensors;
}

/// Restores the optimizer's moments from checkpoint folder `dir` and returns its trainer state.
template <class B>
trainer_state load_optimizer_checkpoint(const std::string& dir, adamw<B>& optimizer) {
  optimizer.load_state(read_optimizer_state(dir), (std::filesystem::path(dir) / optimizer_file).string());
  return read_trainer_state(dir);
}

}  // namespace dnabert::train
