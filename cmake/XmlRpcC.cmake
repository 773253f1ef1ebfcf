# xmlrpc-c ships no pkg-config files on Debian 12: wrap xmlrpc-c-config in imported targets.
# -lcurl (listed by the client library's --libs) is dropped: the client library, which framehive
# no longer links, is the only part of xmlrpc-c that needs libcurl; RpcClient links CURL itself.
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
