// The op list (ops/op_list.hpp) is what the layers may ask of a backend: the CPU backend meets it,
// and a backend that lacks ops is refused by the concept (one readable error at its static_assert).
#include <doctest/doctest.h>

#include <cstddef>
#include <memory>
#include <string>

#include "dnabert/backend/cpu/ops.hpp"
#include "dnabert/ops/op_list.hpp"

namespace backend_op_list_test {

namespace {

// Memory but no ops: every op group must be unsatisfied.
struct memory_only_backend {
  using value_type = float;
  static constexpr bool host_memory = true;
  [[nodiscard]] std::shared_ptr<void> allocate(std::size_t) const { return {}; }
  [[nodiscard]] std::string name() const { return "memory only"; }
};

}  // namespace

TEST_CASE("op_list: the CPU backend provides every op, a backend without ops provides none") {
  CHECK(dnabert::ops::backend_ops<dnabert::backend::cpu_t<float>>);
  CHECK(dnabert::ops::backend_ops<dnabert::backend::cpu_t<double>>);
  CHECK(dnabert::ops::backend_memory<memory_only_backend>);
  CHECK_FALSE(dnabert::ops::dense_ops<memory_only_backend>);
  CHECK_FALSE(dnabert::ops::attention_ops<memory_only_backend>);
  CHECK_FALSE(dnabert::ops::loss_ops<memory_only_backend>);
  CHECK_FALSE(dnabert::ops::optimizer_ops<memory_only_backend>);
  CHECK_FALSE(dnabert::ops::backend_ops<memory_only_backend>);
}

}  // namespace backend_op_list_test
