# The Debian package and the Nix files (tests/packaging/).
# packaging.deb_install packages this build tree's binaries and installs the
# .deb into a Debian 12 chroot; it needs root and Debian's mirror (the
# chroot is made once per build directory, then overlaid per run).
add_test(NAME packaging.deb_install
         COMMAND ${NL_E2E_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/packaging/deb_install.py
                 --build-dir ${CMAKE_BINARY_DIR})
set_tests_properties(packaging.deb_install PROPERTIES TIMEOUT 900 LABELS packaging)

# flake.nix and packaging/nix/: parsed with Debian's nix-bin (Nix's binary
# cache is out of reach, so nothing is built).
add_test(NAME packaging.nix_parse
         COMMAND ${NL_E2E_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/packaging/nix_check.py)
set_tests_properties(packaging.nix_parse PROPERTIES TIMEOUT 120 LABELS packaging)
# Deeper, when a checkout of nixpkgs' lib/ is at hand (e.g. from
# github.com/nix-community/nixpkgs.lib): the flake's outputs and the NixOS
# module evaluated with the real module system, and the YAML it would
# write run by the real server.
set(NL_NIXPKGS_LIB "" CACHE PATH "nixpkgs' lib/ directory for the packaging.nix_module test")
if(NL_NIXPKGS_LIB)
  add_test(NAME packaging.nix_module
           COMMAND ${NL_E2E_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/packaging/nix_check.py
                   --nixpkgs-lib ${NL_NIXPKGS_LIB} --nightlight $<TARGET_FILE:nightlight>)
  set_tests_properties(packaging.nix_module PROPERTIES TIMEOUT 300 LABELS packaging)
endif()
