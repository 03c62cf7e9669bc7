// The CUDA kernel-set switch (backend/cuda/backend.hpp, plain C++: checked without a GPU): the
// environment variable picks standard or fused, standard when unset or empty, anything else
// throws naming the variable.
#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include "dnabert/backend/cuda/backend.hpp"

namespace backend_cuda_kernels_test {

namespace {

using dnabert::backend::cuda_kernels;
using dnabert::backend::default_cuda_kernels;

// Sets DNABERT_CUDA_KERNELS (or unsets it) for one scope, then puts the old value back.
class kernels_variable {
 public:
  explicit kernels_variable(const char* value) {
    if (const char* old = std::getenv(name)) saved_ = old;
    if (value == nullptr) ::unsetenv(name);
    else ::setenv(name, value, 1);
  }
  kernels_variable(const kernels_variable&) = delete;
  kernels_variable& operator=(const kernels_variable&) = delete;
  ~kernels_variable() {
    if (saved_) ::setenv(name, saved_->c_str(), 1);
    else ::unsetenv(name);
  }

 private:
  static constexpr const char* name = "DNABERT_CUDA_KERNELS";
  std::optional<std::string> saved_;
};

}  // namespace

TEST_CASE("cuda kernel set: DNABERT_CUDA_KERNELS picks it, standard by default, other values throw") {
  {
    const kernels_variable unset(nullptr);
    CHECK(default_cuda_kernels() == cuda_kernels::standard);
  }
  {
    const kernels_variable empty("");
    CHECK(default_cuda_kernels() == cuda_kernels::standard);
  }
  {
    const kernels_variable standard("standard");
    CHECK(default_cuda_kernels() == cuda_kernels::standard);
  }
  {
    const kernels_variable fused("fused");
    CHECK(default_cuda_kernels() == cuda_kernels::fused);
  }
  {
    const kernels_variable wrong("Fused");
    CHECK_THROWS_WITH_AS(default_cuda_kernels(), "DNABERT_CUDA_KERNELS=Fused: expected standard or fused",
                         std::invalid_argument);
  }
}

}  // namespace backend_cuda_kernels_test
