# Checks what erg's shared objects export (cmake -P, run by ctest):
#   liberg.so: exactly the functions include/erg/*.h declare with ERG_API,
#              nothing more (visibility hides the rest), nothing missing;
#   a plugin:  exactly erg_plugin_entry (erg_plugin.h's ERG_PLUGIN_ENTRY_NAME).
# Arguments: -DNM=... -DHEADERS=<include/erg> -DLIB=<liberg.so> [-DPLUGIN=<.so>]

function(exported_symbols file out)
  execute_process(COMMAND ${NM} -D --defined-only ${file} OUTPUT_VARIABLE text
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -D --defined-only ${file} failed: ${err}")
  endif()
  # "<address> <type> <name>"; the loader's own markers are not erg's.
  string(REGEX MATCHALL "[0-9a-f]+ [A-Za-z] [A-Za-z_0-9@.]+" lines "${text}")
  set(names)
  foreach(l ${lines})
    string(REGEX REPLACE "^[0-9a-f]+ [A-Za-z] " "" n "${l}")
    if(NOT n MATCHES "^(_init|_fini|_edata|_end|__bss_start)$")
      list(APPEND names ${n})
    endif()
  endforeach()
  list(SORT names)
  set(${out} ${names} PARENT_SCOPE)
endfunction()

function(compare what expected actual)
  set(extra ${actual})
  set(missing ${expected})
  if(expected)
    list(REMOVE_ITEM extra ${expected})
  endif()
  if(actual)
    list(REMOVE_ITEM missing ${actual})
  endif()
  if(extra OR missing)
    message(FATAL_ERROR "${what}: exported but not declared: [${extra}]; "
                        "declared but not exported: [${missing}]")
  endif()
  list(LENGTH actual n)
  message(STATUS "${what}: ${n} symbols, as declared")
endfunction()

file(GLOB headers ${HEADERS}/*.h)
set(declared)
foreach(h ${headers})
  file(READ ${h} text)
  # "ERG_API <return type> <name>(" : the name is the identifier before "(".
  string(REGEX MATCHALL "\nERG_API [^;(#]*\\(" decls "${text}")
  foreach(d ${decls})
    string(REGEX MATCH "[A-Za-z_][A-Za-z_0-9]*\\($" name "${d}")
    string(REGEX REPLACE "\\($" "" name "${name}")
    list(APPEND declared ${name})
  endforeach()
endforeach()
list(SORT declared)
if(NOT declared)
  message(FATAL_ERROR "no ERG_API declaration found in ${HEADERS}")
endif()

exported_symbols(${LIB} lib_names)
compare("${LIB}" "${declared}" "${lib_names}")

if(PLUGIN)
  file(STRINGS ${HEADERS}/erg_plugin.h entry REGEX "#define ERG_PLUGIN_ENTRY_NAME ")
  string(REGEX REPLACE ".*\"(.*)\".*" "\\1" entry "${entry}")
  exported_symbols(${PLUGIN} plugin_names)
  compare("${PLUGIN}" "${entry}" "${plugin_names}")
endif()
