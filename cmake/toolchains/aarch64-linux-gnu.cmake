# Cross-compiling erg for 64-bit ARM Linux with Debian's cross compiler:
#   apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#   dpkg --add-architecture arm64 && apt-get update && apt-get install libcjson-dev:arm64
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DERG_VULKAN=OFF -DERG_OPENCL=OFF
# Libraries come from Debian's multiarch directories (/usr/lib/aarch64-linux-gnu);
# ctest runs the test programs under qemu-aarch64 user-mode emulation.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(ERG_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${ERG_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${ERG_CROSS_TRIPLE}-g++)
# -O2 for Release: Debian 12's cross GCC 12 crashes in its -O3 loop
# vectoriser on tests/api/test_session.c (an internal compiler error in
# vect_transform_reduction). The NEON kernels are written with intrinsics
# and do not depend on it. (A cache entry: CMake appends its own -O3 to a
# _INIT value.)
set(CMAKE_C_FLAGS_RELEASE "-O2 -DNDEBUG" CACHE STRING "C flags of Release builds")
# Headers and libraries of the target: the cross libc, then multiarch.
set(CMAKE_FIND_ROOT_PATH /usr/${ERG_CROSS_TRIPLE} /usr/lib/${ERG_CROSS_TRIPLE})
set(CMAKE_LIBRARY_ARCHITECTURE ${ERG_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config reads the arm64 .pc files only (libcjson:arm64).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${ERG_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

find_program(ERG_QEMU_AARCH64 qemu-aarch64)
if(ERG_QEMU_AARCH64)
  # -L: where qemu finds the target's dynamic loader. The loader and libc
  # must come from one glibc build: with multiarch libc6:arm64 installed
  # (libcjson-dev:arm64 brings it), libc is found in /lib/aarch64-linux-gnu,
  # so the loader must be that one too (/ as the prefix). The cross
  # package's loader with multiarch's libc hangs in pthread_create.
  if(EXISTS /lib/ld-linux-aarch64.so.1)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${ERG_QEMU_AARCH64} -L /)
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${ERG_QEMU_AARCH64} -L /usr/${ERG_CROSS_TRIPLE})
  endif()
endif()
