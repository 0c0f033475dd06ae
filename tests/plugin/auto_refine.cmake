# Refinement of auto's costs from real runs (issue 8): an NPU that has
# become slower than its cached calibration (here its host link, as when a
# link is shared or throttled) loses its matmuls once real runs time it,
# and the next session starts from the refined costs.
#   1. calibrate and run under the fast-link profile: the 64-token
#      prefill's matmuls go to npu-sim;
#   2. the same profile name with a 50 MB/s link and 0.5 ms per transfer:
#      the cached costs still place the matmuls on npu-sim, the runs'
#      times drift past the prediction, and auto places them on the CPU;
#   3. a new session: placed on the CPU from the start;
#   4. the CPU's cached rows of calibrated shapes are as calibrated, and a
#      shape calibration never ran gets its row.
include(${CMAKE_CURRENT_LIST_DIR}/../cli/common.cmake)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/profiles)
set(ENV{ERG_CACHE_DIR} ${WORK}/cache)
set(ENV{ERG_NPU_SIM_PROFILES} ${WORK}/profiles)
set(ENV{ERG_LOG} info)
file(READ ${PROFILE} fast)
file(WRITE ${WORK}/profiles/fast-link.json "${fast}")
set(model ${WORK}/w512.gguf)
erg_run(out err 0 mkmodel --preset tiny --type q8_0 --n-embd 512 --n-ff 1536 --n-head 8
        --n-head-kv 4 --out ${model})

# The last (or first) placement of the 64-token prefill in a run's log.
function(placement_of log which out_var)
  string(REPLACE ";" "," log "${log}") # the log's "cpu: ...; npu-sim:0: ..." is no CMake list
  string(REGEX MATCHALL "prefill graph of [0-9]+ nodes \\(64 tokens\\)[^\n]*" lines "${log}")
  if(NOT lines)
    message(FATAL_ERROR "no 64-token placement in\n${log}")
  endif()
  list(GET lines ${which} line)
  set(${out_var} "${line}" PARENT_SCOPE)
endfunction()

set(bench bench -m ${model} --devices auto -p 64 -n 0 -r 3 -t 1)
erg_run(out log 0 ${bench})
placement_of("${log}" -1 first_run)
expect_match("${first_run}" "npu-sim:0: MATMUL x" "run 1, fast link")

string(REPLACE "\"dram_bandwidth_bytes_per_s\": 32000000000" "\"dram_bandwidth_bytes_per_s\": 50000000"
       slow "${fast}")
string(REPLACE "\"dma_latency_s\": 0.000002" "\"dma_latency_s\": 0.0005" slow "${slow}")
if(slow STREQUAL fast)
  message(FATAL_ERROR "the slow profile is the fast one: ${PROFILE} changed?")
endif()
file(WRITE ${WORK}/profiles/fast-link.json "${slow}")
erg_run(out log 0 ${bench})
placement_of("${log}" 0 cached)
placement_of("${log}" -1 refined)
message("run 2, slow link:\n  placed from the cache: ${cached}\n  after refinement: ${refined}")
expect_match("${cached}" "npu-sim:0: MATMUL x" "run 2 from the cached costs")
expect_match("${log}" "the placed prefill nodes now take [0-9.]+ ms by their refined costs"
             "run 2 drift")
if(refined MATCHES "npu-sim:0: MATMUL")
  message(FATAL_ERROR "run 2: matmuls stay on the slow NPU after refinement:\n${log}")
endif()

erg_run(out log 0 ${bench})
placement_of("${log}" 0 next)
message("run 3, a new session: ${next}")
if(next MATCHES "npu-sim:0: MATMUL")
  message(FATAL_ERROR "run 3 did not start from the refined costs:\n${log}")
endif()

# The CPU's rows in the cache: "key/phase=seconds" per row, in a list.
function(cpu_rows out_var)
  file(GLOB files ${WORK}/cache/scheduler/*.json)
  file(READ "${files}" json)
  string(JSON n LENGTH "${json}" devices)
  math(EXPR last "${n} - 1")
  foreach(i RANGE ${last})
    string(JSON name GET "${json}" devices ${i} device)
    if(name STREQUAL "cpu")
      string(JSON nr LENGTH "${json}" devices ${i} rows)
      math(EXPR last_row "${nr} - 1")
      set(rows "")
      foreach(r RANGE ${last_row})
        string(JSON key GET "${json}" devices ${i} rows ${r} 0)
        string(JSON phase GET "${json}" devices ${i} rows ${r} 1)
        string(JSON sec GET "${json}" devices ${i} rows ${r} 3)
        list(APPEND rows "${key}/${phase}=${sec}")
      endforeach()
      set(${out_var} "${rows}" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "no cpu entry in ${files}")
endfunction()

# 4. The CPU shares the host's cores: its refined times of calibrated
#    shapes stay with the session (they follow the session's load), while
#    a 40-token prefill, a shape calibration never ran, is kept.
cpu_rows(before)
erg_run(out log 0 bench -m ${model} --devices auto -p 40 -n 0 -r 3 -t 1)
cpu_rows(after)
list(LENGTH before n_before)
list(LENGTH after n_after)
message("run 4: the cpu's cached rows: ${n_before} before, ${n_after} after a 40-token prefill")
if(NOT n_after GREATER n_before)
  message(FATAL_ERROR "run 4: no cpu rows for the 40-token shapes")
endif()
foreach(row IN LISTS before)
  list(FIND after "${row}" at)
  if(at LESS 0)
    message(FATAL_ERROR "run 4: the cpu's calibrated row ${row} changed in the cache")
  endif()
endforeach()
