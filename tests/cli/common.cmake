# What the CLI test scripts share: running erg and failing with its output.

# erg_run(OUT ERR EXPECT_RC args...): runs erg with args; fails unless it
# exits with EXPECT_RC; stdout and stderr go to OUT and ERR.
function(erg_run out_var err_var expect_rc)
  execute_process(COMMAND ${ERG} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL expect_rc)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "erg ${cmd}: exit ${rc}, expected ${expect_rc}\n${out}\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
  set(${err_var} "${err}" PARENT_SCOPE)
endfunction()

function(expect_match text regex what)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what}: no match for '${regex}' in\n${text}")
  endif()
endfunction()

function(make_tiny_model path)
  file(MAKE_DIRECTORY ${WORK})
  erg_run(out err 0 mkmodel --preset tiny --type q4_0 --seed 7 --out ${path})
endfunction()
