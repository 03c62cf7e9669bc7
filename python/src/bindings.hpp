#pragma once
// The parts of the dnabert._core module, one file each; module.cpp calls them in order.

#include <nanobind/nanobind.h>

namespace dnabert::python {

namespace nb = nanobind;

/// dnabert.Model (model.cpp).
void bind_model(nb::module_& m);
/// The command runner behind dnabert.finetune, pretrain, variants, scan, ... (commands.cpp).
void bind_commands(nb::module_& m);

}  // namespace dnabert::python
