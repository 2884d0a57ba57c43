# CAF (the C++ Actor Framework) 0.17.6, the version Debian 12 ships and
# Nightlight is written against: nixpkgs only carries newer releases, whose
# API differs. Libraries and headers only (core, io, openssl).
{
  lib,
  stdenv,
  fetchFromGitHub,
  cmake,
  openssl,
}:

stdenv.mkDerivation (finalAttrs: {
  pname = "actor-framework";
  version = "0.17.6";

  src = fetchFromGitHub {
    owner = "actor-framework";
    repo = "actor-framework";
    rev = finalAttrs.version;
    # NAR hash of the tag's tree (git archive 0.17.6), computed with
    # nix-hash; the same method reproduces nixpkgs' hashes of 0.17.1/0.18.0.
    hash = "sha256-31bQuAb0qYRfTjMdWpgLq4GpVVX0Vzj2Zra33ZgU8Q4=";
  };

  nativeBuildInputs = [ cmake ];
  buildInputs = [ openssl ];

  cmakeFlags = [
    "-DCAF_NO_EXAMPLES=ON"
    "-DCAF_NO_UNIT_TESTS=ON"
    "-DCAF_NO_TOOLS=ON"
    "-DCAF_NO_PYTHON=ON"
    "-DCAF_NO_OPENCL=ON"
  ];
  # GCC 13 and later no longer pull <cstdint> and <limits> in through other
  # standard headers, which CAF 0.17's headers relied on (GCC 14: "'uint64_t'
  # does not name a type" in caf/detail/atom_val.hpp, "'numeric_limits' is
  # not a member of 'std'" in caf/io/network/receive_buffer.hpp). Every
  # header includes both first, so CAF and the programs that include its
  # headers build.
  postPatch = ''
    find libcaf_*/caf -name '*.hpp' -exec sed -i -e '1i #include <cstdint>' -e '1i #include <limits>' {} +
  '';

  meta = {
    description = "C++ Actor Framework, release 0.17";
    homepage = "https://www.actor-framework.org/";
    license = lib.licenses.bsd3;
    platforms = lib.platforms.linux;
  };
})
