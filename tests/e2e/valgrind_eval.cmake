# Makes a tiny model, then runs `erg eval` on it under valgrind (memcheck):
# any invalid read or write, use of uninitialised memory, or leak fails.
file(MAKE_DIRECTORY ${WORK})
foreach(arch llama qwen3)
  set(model ${WORK}/${arch}.gguf)
  execute_process(COMMAND ${ERG} mkmodel --arch ${arch} --preset tiny --type q4_k_m --out ${model}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "mkmodel failed (${rc})")
  endif()
  execute_process(COMMAND ${VALGRIND} --error-exitcode=9 --leak-check=full
                          --suppressions=${CMAKE_CURRENT_LIST_DIR}/valgrind.supp
                          --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
                          ${ERG} eval -m ${model} --tokens 1,2,3,4,5,6 -t 2 --device cpu
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "valgrind found errors in erg eval (${arch}, exit ${rc}):\n${out}\n${err}")
  endif()
  string(REGEX MATCH "ERROR SUMMARY: [0-9]+ errors" summary "${err}")
  message(STATUS "${arch}: ${out}${summary}")
endforeach()
