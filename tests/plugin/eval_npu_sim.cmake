# erg eval --device npu-sim on a tiny model: it runs, with the unsupported
# ops on the CPU, and prints the placement report labelled simulated;
# --strict fails with one line naming the first node.
execute_process(COMMAND ${ERG} mkmodel --preset tiny --type q8_0 --out ${MODEL}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mkmodel failed")
endif()
execute_process(COMMAND ${ERG} eval -m ${MODEL} --tokens 1,2,3 --device npu-sim
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "eval --device npu-sim failed")
endif()
if(NOT out MATCHES "on npu-sim:0" OR NOT out MATCHES "[1-9][0-9]* fell back to cpu"
   OR NOT out MATCHES "simulated, not measured" OR NOT out MATCHES "partly simulated")
  message(FATAL_ERROR "no placement report with fallback and simulated labels")
endif()
execute_process(COMMAND ${ERG} eval -m ${MODEL} --tokens 1,2,3 --device npu-sim --strict
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(rc EQUAL 0 OR NOT err MATCHES "strict device: npu-sim cannot run node 0 \\(GET_ROWS")
  message(FATAL_ERROR "--strict did not fail naming the first node")
endif()
