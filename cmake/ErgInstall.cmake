# Install rules and the package files a consumer finds erg with:
#   find_package(erg)  -> erg::erg (shared), erg::erg_static
#   pkg-config erg     -> erg.pc (add --static for the static library)
# Plugins go to lib/erg/plugins, where the runtime looks for them
# (backends/plugin/CMakeLists.txt), whatever CMAKE_INSTALL_LIBDIR is.
include(CMakePackageConfigHelpers)

set(ERG_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/erg)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/erg DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS erg_shared erg_static EXPORT ergTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT ergTargets NAMESPACE erg:: DESTINATION ${ERG_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/ergConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/ergConfig.cmake
                              INSTALL_DESTINATION ${ERG_CMAKE_DIR})
# The soname changes with the major version only, so does compatibility.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ergConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ergConfig.cmake ${PROJECT_BINARY_DIR}/ergConfigVersion.cmake
        DESTINATION ${ERG_CMAKE_DIR})

# erg.pc finds the prefix from its own place, so an installed tree can move
# (and `cmake --install --prefix` elsewhere than configured still works).
file(RELATIVE_PATH erg_pc_up /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
string(REGEX REPLACE "/$" "" erg_pc_up "${erg_pc_up}")
set(ERG_PC_PREFIX "\${pcfiledir}/${erg_pc_up}")
if(CMAKE_DL_LIBS)
  set(ERG_PC_DL -l${CMAKE_DL_LIBS})
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/erg.pc.in ${PROJECT_BINARY_DIR}/erg.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/erg.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

file(GLOB erg_docs ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${erg_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# `cmake --build B --target lib-size` prints the stripped size of liberg.a.
add_custom_target(lib-size
  COMMAND ${CMAKE_COMMAND} -DLIB=$<TARGET_FILE:erg_static> -DSTRIP=${CMAKE_STRIP}
          -DOUT=${PROJECT_BINARY_DIR}/liberg-stripped.a -P ${CMAKE_CURRENT_LIST_DIR}/ErgLibSize.cmake
  DEPENDS erg_static VERBATIM)
