# Runs a fuzz target for SECONDS on a fresh corpus that SEEDS writes:
#   cmake -DSEEDS=gen -DFUZZER=target -DSECONDS=60 -DCORPUS=dir -DARTIFACTS=dir -P run_fuzz.cmake
file(REMOVE_RECURSE "${CORPUS}")
file(MAKE_DIRECTORY "${CORPUS}" "${ARTIFACTS}")
execute_process(COMMAND "${SEEDS}" "${CORPUS}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${SEEDS} failed (${rc})")
endif()
execute_process(COMMAND "${FUZZER}" -max_total_time=${SECONDS} -timeout=10
                        -print_final_stats=1 -artifact_prefix=${ARTIFACTS}/ "${CORPUS}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); the failing input is in ${ARTIFACTS}")
endif()
