# Overload: admission control under >3x the in-flight budget with fsync=always
# (503 + Retry-After at once, bounded RSS, every 2xx sample stored).
# Uses nl_add_e2e from tests.cmake when that file is present.
if(COMMAND nl_add_e2e)
  nl_add_e2e(overload overload 180)
endif()
