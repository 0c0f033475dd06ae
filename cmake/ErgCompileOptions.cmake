# Warnings, -Werror and sanitizers, applied to every erg target.

function(erg_target_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wstrict-prototypes
                                           -Wmissing-prototypes -Wno-unused-parameter)
  if(ERG_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(ERG_SANITIZE)
  add_compile_options(-fsanitize=${ERG_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ERG_SANITIZE})
endif()
