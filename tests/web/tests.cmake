# The web UI in a real browser (tests/web/web_ui.py): headless Chromium
# driven by playwright-core from tests/web/node_modules. Both are installed
# by scripts/install-deps.sh; without them the test fails and says so.
add_test(NAME web.ui
         COMMAND ${NL_E2E_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/web/web_ui.py
                 --nightlight $<TARGET_FILE:nightlight>)
add_test(NAME web.ui_mtls
         COMMAND ${NL_E2E_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/web/web_ui.py
                 --nightlight $<TARGET_FILE:nightlight> --tls)
set_tests_properties(web.ui web.ui_mtls PROPERTIES TIMEOUT 600 LABELS "e2e;web")
