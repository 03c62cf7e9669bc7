#pragma once
// Where text results go: a file written atomically, or stdout.

#include <iostream>
#include <string>

#include <dnabert/io/atomic_file.hpp>

namespace dnabert::cli {

/// Writes `text` to `path` atomically, or to stdout when `path` is empty or "-".
inline void write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    std::cout.flush();
    return;
  }
  io::write_file_atomically(path, text);
}

}  // namespace dnabert::cli
