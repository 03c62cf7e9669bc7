# Dependency lookup: Debian's packages through find_package first. Only when the user opts in
# with -DDNABERT_FETCH_DEPS=ON may a missing package be fetched (FetchContent tries
# find_package first through FIND_PACKAGE_ARGS, so an installed package still wins).
include(FetchContent)

set(_dnabert_url_Eigen3 "https://gitlab.com/libeigen/eigen/-/archive/3.4.0/eigen-3.4.0.tar.gz")
set(_dnabert_url_xtl "https://github.com/xtensor-stack/xtl/archive/refs/tags/0.7.5.tar.gz")
set(_dnabert_url_xtensor "https://github.com/xtensor-stack/xtensor/archive/refs/tags/0.24.3.tar.gz")
set(_dnabert_url_nlohmann_json "https://github.com/nlohmann/json/releases/download/v3.11.2/json.tar.xz")
set(_dnabert_url_CLI11 "https://github.com/CLIUtils/CLI11/archive/refs/tags/v2.1.2.tar.gz")
set(_dnabert_url_doctest "https://github.com/doctest/doctest/archive/refs/tags/v2.4.9.tar.gz")
set(_dnabert_url_benchmark "https://github.com/google/benchmark/archive/refs/tags/v1.7.1.tar.gz")

# dnabert_require_dependency(<Package> <minimum version>)
function(dnabert_require_dependency name version)
  if(NOT DNABERT_FETCH_DEPS)
    find_package(${name} ${version} QUIET CONFIG)
    if(NOT ${name}_FOUND)
      message(FATAL_ERROR
        "dnabert needs ${name} >= ${version}, and find_package(${name}) did not find it.\n"
        "Install Debian's package (see README.md), point CMAKE_PREFIX_PATH at an install, "
        "or configure with -DDNABERT_FETCH_DEPS=ON to allow a download.")
    endif()
    return()
  endif()
  if(name STREQUAL "xtensor")
    dnabert_require_dependency(xtl 0.7)
  endif()
  set(BENCHMARK_ENABLE_TESTING OFF CACHE BOOL "" FORCE)
  set(JSON_BuildTests OFF CACHE BOOL "" FORCE)
  set(BUILD_TESTING OFF CACHE BOOL "" FORCE)
  FetchContent_Declare(${name} URL "${_dnabert_url_${name}}"
    FIND_PACKAGE_ARGS ${version} CONFIG)
  FetchContent_MakeAvailable(${name})
endfunction()

# htslib (Debian libhts-dev) for the optional dnabert::hts component: pkg-config's paths as hints,
# then a plain header + library search (also what an installed dnabert's config runs).
# Sets the cache entries DNABERT_HTSLIB_INCLUDE_DIR and DNABERT_HTSLIB_LIBRARY.
function(dnabert_find_htslib)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(DNABERT_PC_HTSLIB QUIET htslib)
  endif()
  find_path(DNABERT_HTSLIB_INCLUDE_DIR htslib/vcf.h HINTS ${DNABERT_PC_HTSLIB_INCLUDE_DIRS})
  find_library(DNABERT_HTSLIB_LIBRARY hts HINTS ${DNABERT_PC_HTSLIB_LIBRARY_DIRS})
endfunction()

# oneDNN (Debian libdnnl-dev) by header and library: Debian's dnnl-config.cmake requires OpenCL's
# development files (its GPU runtime), which the CPU matmul never uses. Sets the cache entries
# DNABERT_ONEDNN_INCLUDE_DIR and DNABERT_ONEDNN_LIBRARY, and DNABERT_ONEDNN_OPENMP to TRUE when
# that build threads with OpenMP: only then does it share dnabert's OpenMP threads (a TBB or
# sequential build would add its own pool, or run one thread).
function(dnabert_find_onednn)
  find_path(DNABERT_ONEDNN_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
  find_library(DNABERT_ONEDNN_LIBRARY dnnl)
  set(openmp FALSE)
  if(DNABERT_ONEDNN_INCLUDE_DIR)
    file(STRINGS ${DNABERT_ONEDNN_INCLUDE_DIR}/oneapi/dnnl/dnnl_config.h threading
         REGEX "^#define DNNL_CPU_THREADING_RUNTIME DNNL_RUNTIME_OMP$")
    if(threading)
      set(openmp TRUE)
    endif()
  endif()
  set(DNABERT_ONEDNN_OPENMP ${openmp} PARENT_SCOPE)
endfunction()
