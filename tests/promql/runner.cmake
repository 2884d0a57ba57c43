# The Prometheus 2.42 PromQL .test files, run in place from the shared folder
# (override NL_PROMQL_TESTDATA when the build tree is not next to it).
set(NL_PROMQL_TESTDATA "${PROJECT_SOURCE_DIR}/../shared/promql-testdata"
    CACHE PATH "Folder with Prometheus' PromQL .test files")
add_executable(promql_script_runner ${CMAKE_CURRENT_SOURCE_DIR}/promql/script_runner.cpp)
target_link_libraries(promql_script_runner PRIVATE nl_promql)
target_compile_definitions(promql_script_runner PRIVATE NL_SCRIPT_RUNNER_MAIN)
add_test(NAME promql.testdata COMMAND promql_script_runner ${NL_PROMQL_TESTDATA})
set_tests_properties(promql.testdata PROPERTIES TIMEOUT 600)
