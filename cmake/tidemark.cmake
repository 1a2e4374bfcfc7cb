# Helpers every stage uses to declare its library and its tests, so that targets,
# warnings and test registration stay uniform across src/<stage>/CMakeLists.txt.
include_guard(GLOBAL)

# tidemark_cc_library(NAME name SRCS a.cc b.cc DEPS other_lib ...)
function(tidemark_cc_library)
  cmake_parse_arguments(T "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(${T_NAME} STATIC ${T_SRCS})
  target_include_directories(${T_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${T_NAME} PUBLIC ${T_DEPS})
endfunction()

# tidemark_cc_test(NAME name SRCS a_test.cc DEPS lib ...): a GoogleTest binary run by ctest.
function(tidemark_cc_test)
  cmake_parse_arguments(T "" "NAME" "SRCS;DEPS" ${ARGN})
  if(NOT TIDEMARK_BUILD_TESTS)
    return()
  endif()
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${T_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600)
endfunction()
