# Prints the size of a static library once stripped of everything a linker
# does not need (cmake -DLIB=... -DSTRIP=... -DOUT=... -P ErgLibSize.cmake).
file(COPY_FILE ${LIB} ${OUT})
execute_process(COMMAND ${STRIP} --strip-unneeded ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${STRIP} --strip-unneeded ${OUT} failed (${rc})")
endif()
file(SIZE ${LIB} unstripped)
file(SIZE ${OUT} stripped)
math(EXPR kib "${stripped} / 1024")
message("liberg.a: ${stripped} bytes stripped (${kib} KiB), ${unstripped} bytes as built")
