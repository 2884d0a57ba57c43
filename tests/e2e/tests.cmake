# End-to-end tests: Python scripts that start the real nightlight binary (and
# Prometheus 2.42) on loopback ports. They need python3-snappy and
# python3-protobuf, which Debian installs for /usr/bin/python3, so that
# interpreter is preferred over whatever python3 comes first in PATH.
find_program(NL_E2E_PYTHON python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT NL_E2E_PYTHON)
  find_program(NL_E2E_PYTHON python3 REQUIRED)
endif()

function(nl_add_e2e name script timeout)
  add_test(NAME e2e.${name}
           COMMAND ${NL_E2E_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/${script}.py
                   --nightlight $<TARGET_FILE:nightlight> ${ARGN})
  set_tests_properties(e2e.${name} PROPERTIES TIMEOUT ${timeout} LABELS e2e)
  # Tests whose bounds depend on the build (memory under ASan) read this.
  if(NL_SANITIZE)
    set_property(TEST e2e.${name} APPEND PROPERTY ENVIRONMENT NL_SANITIZE=1)
  endif()
endfunction()

nl_add_e2e(prometheus_remote_write prometheus_remote_write 120)
nl_add_e2e(remote_write_errors remote_write_errors 90)
nl_add_e2e(crash_recovery crash_recovery 150)
nl_add_e2e(overload overload 180)
nl_add_e2e(crash_recovery_fsync_always crash_recovery 150 --fsync always --seed 7)
nl_add_e2e(promql_differential promql_differential 300)
nl_add_e2e(mtls_handshake mtls_handshake 120)
nl_add_e2e(mtls_authz mtls_authz 90)
nl_add_e2e(mtls_prometheus mtls_prometheus 150)
nl_add_e2e(mtls_reload mtls_reload 120)
nl_add_e2e(mtls_loopback mtls_loopback 120)
nl_add_e2e(query_cancel query_cancel 90)
nl_add_e2e(query_cancel_tls query_cancel 90 --tls)
nl_add_e2e(crash_recovery_blocks crash_recovery 300 --block-duration 1m --cycles 20 --seed 21)
nl_add_e2e(crash_recovery_snapshots crash_recovery 300 --block-duration 1m --cycles 24 --clean-stop-every 2 --seed 33)
nl_add_e2e(promql_differential_blocks promql_differential 400 --block-duration 10m)
nl_add_e2e(out_of_order out_of_order 240)
nl_add_e2e(tsdb_tool tsdb_tool 120 --tsdb $<TARGET_FILE:nightlight-tsdb>)
nl_add_e2e(prometheus_import prometheus_import 180 --tsdb $<TARGET_FILE:nightlight-tsdb>)
nl_add_e2e(prometheus_import_server prometheus_import 300 --tsdb $<TARGET_FILE:nightlight-tsdb> --from-server --hours 1)
nl_add_e2e(status_api status_api 120)
nl_add_e2e(damaged_block damaged_block 120 --tsdb $<TARGET_FILE:nightlight-tsdb>)
nl_add_e2e(admin_api admin_api 300 --tsdb $<TARGET_FILE:nightlight-tsdb>)
nl_add_e2e(retention retention 180)
nl_add_e2e(head_snapshot head_snapshot 120)
nl_add_e2e(http_conformance http_conformance 120)
# Grafana's Prometheus data source requests and promtool query, against Prometheus 2.42.
nl_add_e2e(grafana_promtool grafana_promtool 120)
nl_add_e2e(query_stats query_stats 300)

# A full or hung disk, injected under the real server with LD_PRELOAD.
add_library(nl_file_faults_preload SHARED ${CMAKE_CURRENT_SOURCE_DIR}/e2e/faults/file_faults_preload.cpp)
target_link_libraries(nl_file_faults_preload PRIVATE ${CMAKE_DL_LIBS})
nl_add_e2e(disk_full disk_full 120 --preload $<TARGET_FILE:nl_file_faults_preload>)
nl_add_e2e(wal_stall wal_stall 120 --preload $<TARGET_FILE:nl_file_faults_preload>)
nl_add_e2e(query_flood query_flood 120)
nl_add_e2e(metadata_api metadata_api 360)
nl_add_e2e(federate federate 120)
nl_add_e2e(remote_read remote_read 300)
nl_add_e2e(remote_read_prometheus remote_read_prometheus 300)
nl_add_e2e(remote_read_prometheus_tls remote_read_prometheus 300 --tls)

# The gRPC query API against HTTP on the same data, deadlines, health and
# reflection (python3-grpcio, protos generated at test time), and its mTLS.
nl_add_e2e(grpc_api grpc_api 300)
nl_add_e2e(grpc_mtls grpc_mtls 180)

# The client library (protocol/client) and its examples.
nl_add_e2e(client_examples client_examples 120
           --push $<TARGET_FILE:push_metrics> --query $<TARGET_FILE:query_metrics>)
nl_add_e2e(client_examples_mtls client_examples 120 --tls
           --push $<TARGET_FILE:push_metrics> --query $<TARGET_FILE:query_metrics>)
nl_add_e2e(remote_write_client_retry remote_write_client_retry 90 --push $<TARGET_FILE:push_metrics>)
nl_add_e2e(client_install client_install 300 --build-dir ${CMAKE_BINARY_DIR})
nl_add_e2e(cluster_replication cluster_replication 180 --tsdb $<TARGET_FILE:nightlight-tsdb>)
nl_add_e2e(cluster_replication_tls cluster_replication 180 --tsdb $<TARGET_FILE:nightlight-tsdb> --tls)
nl_add_e2e(cluster_reads cluster_reads 600)
nl_add_e2e(cluster_reads_tls cluster_reads 600 --tls)
nl_add_e2e(cluster_tls cluster_tls 120)
nl_add_e2e(cluster_write_linger cluster_write_linger 120)
