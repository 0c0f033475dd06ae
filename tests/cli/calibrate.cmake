# erg calibrate: measures the listed devices and caches their costs, a
# device not listed keeps its cached costs, the budget stops starting new
# devices, and npu-sim's power is its simulation's, labelled so.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
set(model ${WORK}/tiny.gguf)
file(REMOVE_RECURSE ${WORK}/cache)
make_tiny_model(${model})

# status_of(JSON DEVICE_REGEX OUT_PREFIX): the first device matching.
function(device_of json regex prefix)
  string(JSON n LENGTH "${json}" devices)
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    string(JSON name GET "${json}" devices ${i} device)
    if(name MATCHES "${regex}")
      foreach(key status shapes energy_source simulated busy_watts)
        string(JSON v GET "${json}" devices ${i} ${key})
        set(${prefix}_${key} "${v}" PARENT_SCOPE)
      endforeach()
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "no device matching ${regex} in\n${json}")
endfunction()

erg_run(json err 0 calibrate -m ${model} -t 1 -o json)
device_of("${json}" "^cpu$" cpu)
device_of("${json}" "^npu-sim" npu)
if(NOT cpu_status STREQUAL "measured" OR NOT cpu_shapes GREATER 0 OR
   NOT cpu_energy_source STREQUAL "estimate" OR cpu_simulated)
  message(FATAL_ERROR "cpu: ${cpu_status}, ${cpu_shapes} shapes, ${cpu_energy_source}\n${json}")
endif()
if(NOT npu_status STREQUAL "measured" OR NOT npu_shapes GREATER 0 OR
   NOT npu_energy_source STREQUAL "simulated" OR NOT npu_simulated OR NOT npu_busy_watts GREATER 0)
  message(FATAL_ERROR "npu-sim: ${npu_status}, ${npu_shapes} shapes, ${npu_energy_source}\n${json}")
endif()
file(GLOB cache_files ${WORK}/cache/*)
if(NOT cache_files)
  message(FATAL_ERROR "nothing cached in ${WORK}/cache")
endif()

# Only the CPU again: npu-sim keeps what the cache holds.
erg_run(json err 0 calibrate -m ${model} -t 1 --device cpu -o json)
device_of("${json}" "^cpu$" cpu)
device_of("${json}" "^npu-sim" npu)
if(NOT cpu_status STREQUAL "measured" OR NOT npu_status STREQUAL "cached")
  message(FATAL_ERROR "--device cpu: cpu ${cpu_status}, npu-sim ${npu_status}\n${json}")
endif()

# A spent budget starts no further device; the table labels the simulated power.
erg_run(out err 0 calibrate -m ${model} -t 1 --budget-ms 1)
expect_match("${out}" "skipped: budget spent" "a 1 ms budget")
expect_match("${out}" "s: a simulated device's own model" "the simulated power's label")
