#pragma once
// `dnabert <command> --options FILE.json`: a JSON object whose keys are the command's long option
// names sets any of its options; what the command line gives wins over the file.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include <dnabert/core/error.hpp>
#include <dnabert/io/config_json.hpp>
#include <dnabert/io/mapped_file.hpp>

namespace dnabert::cli {

namespace detail {

using json = nlohmann::json;

/// The option's name in messages, as the user wrote it in the file ("\"epochs\"").
inline std::string quoted_key(const std::string& key) { return '"' + key + '"'; }

/// The command-line words of one JSON value: strings as written, numbers as JSON writes them,
/// booleans as true/false, arrays element by element (for options taking several values).
inline std::vector<std::string> option_words(const json& value, const std::string& file, const std::string& key) {
  if (value.is_string()) return {value.get<std::string>()};
  if (value.is_number() || value.is_boolean()) return {value.dump()};
  std::vector<std::string> words;
  if (value.is_array())
    for (const json& element : value) {
      if (element.is_array() || element.is_object() || element.is_null()) break;
      words.push_back(element.is_string() ? element.get<std::string>() : element.dump());
    }
  if (!value.is_array() || words.size() != value.size()) {
    std::string message = "option " + quoted_key(key);
    message += " must be a string, a number, true/false or an array of those, found ";
    message += value.dump().substr(0, 40);
    throw format_error(file, message);
  }
  return words;
}

/// The long names `command` takes from an options file, for the message about an unknown key.
inline std::string option_names(const CLI::App& command) {
  std::string names;
  for (const CLI::Option* option : command.get_options())
    if (option->get_configurable() && !option->get_lnames().empty())
      names += (names.empty() ? "" : ", ") + option->get_lnames().front();
  return names;
}

/// Sets every option of `command` that the command line left unset from the JSON object in `path`.
inline void apply_options_file(CLI::App& command, const std::string& path) {
  const json options = io::read_json_object(path);
  for (const auto& [key, value] : options.items()) {
    CLI::Option* option = command.get_option_no_throw("--" + key);
    if (option == nullptr || !option->get_configurable()) {
      std::string message = "unknown option " + quoted_key(key);
      message += " for dnabert " + command.get_name() + " (its options: " + option_names(command) + ")";
      throw format_error(path, message);
    }
    if (option->count() > 0) continue;  // given on the command line, which wins
    const bool flag = option->get_expected_min() == 0;
    if (flag && !value.is_boolean()) {
      std::string message = "option " + quoted_key(key);
      message += " is a flag: expected true or false, found " + value.dump().substr(0, 40);
      throw format_error(path, message);
    }
    try {
      if (flag) option->add_result(option->get_flag_value(key, value.dump()));
      else option->add_result(option_words(value, path, key));
      option->run_callback();  // converts and validates, as for a command-line value
    } catch (const CLI::Error& invalid) {
      std::string message = "option " + quoted_key(key);
      message += ": ";
      message += invalid.what();
      throw format_error(path, message);
    }
  }
}

}  // namespace detail

/// Gives every command below `app` that takes options of its own (`plot attention` too, not
/// `plot`) an `--options FILE.json` option (call after adding them all).
inline void add_options_file(CLI::App& app) {
  for (CLI::App* command : app.get_subcommands([](CLI::App*) { return true; })) {
    add_options_file(*command);
    if (!command->get_subcommands([](CLI::App*) { return true; }).empty()) continue;
    command
        ->add_option_function<std::string>(
            "--options", [command](const std::string& path) { detail::apply_options_file(*command, path); },
            "JSON object of this command's options by long name, e.g. {\"epochs\": 3, \"lr\": 1e-4}; the "
            "command line wins")
        ->type_name("FILE.json")
        ->configurable(false);
  }
}

}  // namespace dnabert::cli
