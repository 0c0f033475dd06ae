# erg graph on a tiny model: the default graph is the fused one, with fewer
# nodes than --no-fusion's, and says what fusion did; --dump shows the fused
# graph; a device that does not exist is one error line.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
set(model ${WORK}/tiny.gguf)
make_tiny_model(${model})

# The node counts of one step (the decode step, then a prompt of 8 after 4).
foreach(step "1;0" "8;4")
  list(GET step 0 nt)
  list(GET step 1 past)
  set(shape --tokens ${nt} --n-past ${past})
  erg_run(plain err 0 graph -m ${model} ${shape} --no-fusion)
  expect_match("${plain}" "fusion: off" "--no-fusion summary")
  string(REGEX MATCH "([0-9]+) nodes \\(" _ "${plain}")
  set(unfused ${CMAKE_MATCH_1})

  erg_run(fused err 0 graph -m ${model} ${shape})
  message("${fused}")
  expect_match("${fused}" "fusion for cpu: [0-9]+ -> [0-9]+ nodes; fused [A-Z_]+ [0-9]+"
               "fusion summary")
  string(REGEX MATCH "fusion for cpu: ([0-9]+) -> ([0-9]+) nodes" _ "${fused}")
  set(before ${CMAKE_MATCH_1})
  set(after ${CMAKE_MATCH_2})
  string(REGEX MATCH "([0-9]+) nodes \\(" _ "${fused}")
  set(nodes ${CMAKE_MATCH_1})
  expect_match("${fused}" "activation memory: [0-9.]+ MiB planned, [0-9.]+ MiB naive, [0-9.]+ MiB"
               "memory plan line")
  if(NOT before EQUAL unfused OR NOT after EQUAL nodes)
    message(FATAL_ERROR "fusion summary ${before} -> ${after} does not match the graphs "
                        "(${unfused} unfused, ${nodes} shown)")
  endif()
  if(NOT nodes LESS unfused)
    message(FATAL_ERROR "tokens ${nt} after ${past}: the fused graph has ${nodes} nodes, "
                        "not fewer than the unfused ${unfused}")
  endif()

  erg_run(json err 0 graph -m ${model} ${shape} --dump json)
  string(JSON n_json LENGTH "${json}" nodes)
  if(NOT n_json EQUAL nodes)
    message(FATAL_ERROR "--dump json has ${n_json} nodes, the summary ${nodes}")
  endif()
endforeach()

erg_run(out err 1 graph -m ${model} --device no-such-device)
expect_match("${err}" "^erg graph: no device 'no-such-device'[^\n]*\n$" "unknown device error")
