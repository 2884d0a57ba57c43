# End-to-end tests of mutual TLS (tests/e2e/mtls_*.py): certificates are made
# at test time by scripts/gen-dev-certs.sh; Nightlight, curl, promtool and
# Prometheus 2.42 run on loopback ports. Uses the same interpreter choice as
# tests.cmake (Debian's python3 has python3-snappy and python3-protobuf).
if(NOT NL_E2E_PYTHON)
  find_program(NL_E2E_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
  if(NOT NL_E2E_PYTHON)
    find_program(NL_E2E_PYTHON python3 REQUIRED)
  endif()
endif()

function(nl_add_mtls_e2e name timeout)
  add_test(NAME e2e.${name}
           COMMAND ${NL_E2E_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/${name}.py
                   --nightlight $<TARGET_FILE:nightlight>)
  set_tests_properties(e2e.${name} PROPERTIES TIMEOUT ${timeout} LABELS "e2e;mtls")
endfunction()

nl_add_mtls_e2e(mtls_handshake 120)
nl_add_mtls_e2e(mtls_authz 90)
nl_add_mtls_e2e(mtls_prometheus 150)
nl_add_mtls_e2e(mtls_reload 120)
nl_add_mtls_e2e(mtls_loopback 120)
