# Compiles one file that must NOT compile, and checks the compiler names the reason given on its
# "// expect:" line. -D: CXX, FILE, INCLUDES (;-list), FLAGS (;-list).
file(STRINGS "${FILE}" expect_line REGEX "^// expect: ")
string(REGEX REPLACE "^// expect: " "" expect "${expect_line}")
set(args ${FLAGS})
foreach(inc IN LISTS INCLUDES)
  list(APPEND args "-I${inc}")
endforeach()
execute_process(COMMAND "${CXX}" -std=c++17 -fsyntax-only ${args} "${FILE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${FILE} compiled, but it must not")
endif()
if(NOT err MATCHES "${expect}")
  message(FATAL_ERROR "${FILE} failed to compile without the message '${expect}':\n${err}")
endif()
message(STATUS "${FILE}: refused with '${expect}'")
