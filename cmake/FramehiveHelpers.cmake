# Warnings, sanitizers and fuzzing instrumentation for project targets.
function(fh_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(FH_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(FH_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${FH_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${FH_SANITIZE})
  endif()
  if(FH_FUZZ)
    # Coverage instrumentation for libFuzzer; the fuzz executables add -fsanitize=fuzzer.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()

# A component: library fh_<name> from src/*.cpp (minus main.cpp), public headers in include/,
# and optionally the thin executable framehive-<name> from src/main.cpp.
function(fh_add_component name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  list(FILTER srcs EXCLUDE REGEX ".*/main\\.cpp$")
  add_library(fh_${name} STATIC ${srcs})
  target_include_directories(fh_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(fh_${name} PUBLIC ${ARG_DEPS})
  fh_target_defaults(fh_${name})
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/src/main.cpp)
    add_executable(framehive-${name} src/main.cpp)
    target_link_libraries(framehive-${name} PRIVATE fh_${name})
    fh_target_defaults(framehive-${name})
  endif()
endfunction()

# One Boost.Test program per component: tests/<name>/*.cpp -> test_<name>, registered
# with ctest with a timeout and a label.
function(fh_add_test_program name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
  if(NOT srcs)
    return()
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(test_${name} ${srcs})
  target_link_libraries(test_${name} PRIVATE ${ARG_DEPS} fh_testutil Boost::unit_test_framework)
  fh_target_defaults(test_${name})
  add_test(NAME ${name} COMMAND test_${name} --log_level=message)
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS ${name})
endfunction()
