# xmlrpc-c ships no pkg-config files on Debian 12: wrap xmlrpc-c-config in imported targets.
# xmlrpc-c-config's --libs lists -lcurl, which needs libcurl's development package
# (libcurl*-dev) to link; it is dropped because libxmlrpc_client is itself linked against
# libcurl (the shared library's DT_NEEDED), so the link works with the runtime libcurl alone.
find_program(XMLRPC_C_CONFIG xmlrpc-c-config REQUIRED)

function(fh_xmlrpc_target name)
  execute_process(COMMAND ${XMLRPC_C_CONFIG} ${ARGN} --libs
    OUTPUT_VARIABLE libs OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND ${XMLRPC_C_CONFIG} ${ARGN} --cflags
    OUTPUT_VARIABLE cflags OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  separate_arguments(libs UNIX_COMMAND "${libs}")
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  list(REMOVE_ITEM libs -lcurl)
  add_library(${name} INTERFACE IMPORTED GLOBAL)
  target_link_libraries(${name} INTERFACE ${libs})
  target_compile_options(${name} INTERFACE ${cflags})
endfunction()

# Only xmlrpc-c's value types and parser (libxmlrpc++, libxmlrpc): framehive's codec and server
# use the values; the tests use the parser as an oracle. Neither Abyss nor its client library.
fh_xmlrpc_target(xmlrpc_c::base c++2)
