#!/usr/bin/env bash
# One entry point for a fresh Debian 12 / Ubuntu machine:
#   scripts/dev.sh bench   install what is missing, build, run erg bench
#   scripts/dev.sh test    install what is missing, build, run every test
# Each stage prints how long it took. CI=true turns warnings into errors.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  bench|test) ;;
  *) echo "usage: scripts/dev.sh bench|test" >&2; exit 2 ;;
esac

stage() { # stage NAME COMMAND...
  local name=$1; shift
  local t0=$SECONDS
  echo "==> $name"
  "$@"
  echo "==> $name took $((SECONDS - t0)) s"
}

# Debian packages erg needs to build and test. The library itself needs only
# libcjson; the GPU backends build from headers and shader tools (their
# loaders are opened at run time), and the drivers give this machine real
# devices: Vulkan on lavapipe (Mesa's CPU driver), OpenCL on PoCL.
packages=(build-essential cmake pkg-config libcjson-dev python3 python3-numpy
          libvulkan-dev glslc spirv-tools ocl-icd-opencl-dev opencl-c-headers
          libvulkan1 mesa-vulkan-drivers ocl-icd-libopencl1 pocl-opencl-icd)
[ "$mode" = test ] && packages+=(clang libclang-rt-dev valgrind vulkan-validationlayers)
# test_tokref compares erg's tokenizers with the JavaScript ones it installs
# from npm at test time. Debian's npm only when no npm is there (NodeSource's
# nodejs carries its own and conflicts with Debian's).
if [ "$mode" = test ]; then
  packages+=(nodejs)
  command -v npm >/dev/null || packages+=(npm)
fi
# The ARM64 stage: Debian's cross compiler, qemu user-mode emulation, and the
# arm64 libcjson from Debian multiarch (install_packages adds the architecture).
[ "$mode" = test ] && packages+=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu
                                 libc6-dev-arm64-cross qemu-user libcjson-dev:arm64)

install_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "all packages present"
    return
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "missing Debian packages: ${missing[*]}; run this as root or install sudo" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  echo "installing: ${missing[*]}"
  if [[ " ${missing[*]}" == *:arm64* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    "${sudo[@]}" dpkg --add-architecture arm64
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

jobs=$(nproc)
werror=OFF
[ "${CI:-}" = true ] && werror=ON

build() { # build DIR [cmake args...]
  local dir=$1; shift
  # Configure quietly, but keep CMake's warnings (a missing test tool) visible.
  cmake -S . -B "$dir" -DERG_WERROR=$werror "$@" | { grep -v '^--' || true; }
  cmake --build "$dir" -j"$jobs"
}

stage "install packages" install_packages
stage "build (release)" build build -DCMAKE_BUILD_TYPE=Release

if [ "$mode" = bench ]; then
  stage "erg bench" build/bin/erg bench
  exit 0
fi

# The drivers were installed above, so a GPU backend that finds no device
# fails its tests instead of skipping them.
export ERG_REQUIRE_DEVICES=vulkan,opencl
stage "tests (release)" ctest --test-dir build --output-on-failure -j"$jobs" -LE fuzz
# (The release tests include the packaging checks, label package: exported
# symbols, install + the example built through find_package and pkg-config.)
# The smallest library a SoC SDK can carry: the CPU backend only.
minimal_size() {
  cmake -S . -B build-minimal -DERG_WERROR=$werror -DCMAKE_BUILD_TYPE=Release -DERG_MINIMAL=ON |
    { grep -v '^--' || true; }
  cmake --build build-minimal -j"$jobs" --target lib-size
}
stage "minimal library (size)" minimal_size
# ARM64: cross-compiled with Debian's GCC, the tests run under qemu-aarch64
# user-mode emulation: the CPU kernels at every level (scalar, neon, dotprod)
# and npu-sim. Emulation checks results, not speed (docs/integration.md).
# Emulation is slow (qemu runs floating point in software), so the stage
# builds and runs the tests that check what differs on ARM: the kernels of
# every level, forced scalar included, against the reference
# (test_cpu_matmul, test_cpu_vec), the conformance suite at the scalar and
# neon levels, the quantised formats, the plugin ABI with npu-sim and the
# exported symbols; and it builds the CLI.
arm64_targets=(test_cpu_matmul test_cpu_vec test_dequant test_quantize test_fp16 test_gguf
               test_conformance_cpu test_plugin_abi test_plugin_loader test_npu_sim_memory
               test_compute_peak erg_shared erg_plugin_npu_sim erg)
arm64_tests='^(test_cpu_matmul|test_cpu_vec|test_dequant|test_quantize|test_fp16|test_gguf'
arm64_tests+='|test_plugin_abi|test_plugin_loader|test_npu_sim_memory|test_compute_peak'
arm64_tests+='|conformance_cpu_(scalar|neon)'
arm64_tests+='|package_symbols'
build_arm64() {
  cmake -S . -B build-arm64 -DERG_WERROR=$werror -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
    -DERG_VULKAN=OFF -DERG_OPENCL=OFF | { grep -v '^--' || true; }
  cmake --build build-arm64 -j"$jobs" --target "${arm64_targets[@]}"
}
stage "build (arm64, cross)" build_arm64
stage "tests (arm64, qemu)" env -u ERG_REQUIRE_DEVICES ctest --test-dir build-arm64 \
  --output-on-failure -j"$jobs" --timeout 1800 -R "$arm64_tests)\$"
stage "build (ASan + UBSan)" build build-sanitize -DCMAKE_BUILD_TYPE=Debug \
  -DERG_SANITIZE=address,undefined
# ERG_BACKENDS=cpu: these tests run on the CPU, so no GPU driver is loaded
# (PoCL's LLVM leaks from modules it unloads, see below).
stage "tests (ASan + UBSan)" env ERG_BACKENDS=cpu \
  ctest --test-dir build-sanitize --output-on-failure -j"$jobs" \
  -L 'unit|conformance|api' -LE 'vulkan|opencl'
# The GPU drivers (lavapipe, PoCL, the validation layer) leak from modules
# they unload, which LeakSanitizer cannot attribute; erg's own allocations
# there are counted by the tests' allocator instead. ASan still checks every
# access.
stage "tests (ASan + UBSan, GPU backends)" env ASAN_OPTIONS=detect_leaks=0 \
  ctest --test-dir build-sanitize --output-on-failure -j"$jobs" \
  -R '^(conformance_(vulkan|opencl)|test_(vk_pipeline|opencl)_cache)$'
stage "build (ThreadSanitizer)" build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DERG_SANITIZE=thread
# (Not the GPU tests: the drivers' own threads are not instrumented.)
stage "tests (ThreadSanitizer)" env ERG_BACKENDS=cpu \
  ctest --test-dir build-tsan --output-on-failure -j"$jobs" \
  -L 'conformance|api' -LE 'vulkan|opencl'
build_fuzz() {
  CC=clang CXX=clang++ build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DERG_FUZZ=ON \
    -DERG_SANITIZE=address,undefined
}
stage "build (libFuzzer, clang)" build_fuzz
stage "fuzz (60 s)" ctest --test-dir build-fuzz --output-on-failure -L fuzz
