# xmlrpc-c ships no pkg-config files on Debian 12: wrap xmlrpc-c-config in imported targets.
# -lcurl is dropped: libxmlrpc_client already links libcurl (see ../shared/NOTES.md).
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

# Values, XML encoding and parsing only (libxmlrpc++, libxmlrpc, its expat): no HTTP.
fh_xmlrpc_target(xmlrpc_c::base c++2)
fh_xmlrpc_target(xmlrpc_c::server c++2 abyss-server)
fh_xmlrpc_target(xmlrpc_c::client c++2 client)
