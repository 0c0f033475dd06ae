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
