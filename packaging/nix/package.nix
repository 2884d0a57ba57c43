# Nightlight: the server and nightlight-tsdb, with their manual pages, built
# with CMake from this source tree. The inputs are the nixpkgs counterparts
# of the Debian 12 packages scripts/install-deps.sh installs; CAF 0.17 comes
# from ./caf.nix. UNBUILT: see README.md, "Nix".
{
  lib,
  stdenv,
  callPackage,
  cmake,
  ninja,
  pkg-config,
  python3,
  protobuf,
  openssl,
  snappy,
  re2,
  yaml-cpp,
  nlohmann_json,
  boost,
  jemalloc,
  # Not `caf`: callPackage would hand over nixpkgs' newer CAF.
  caf_0_17 ? callPackage ./caf.nix { },
}:

let
  root = ../..;
  # The one version: CMake's project(... VERSION x.y.z).
  version = builtins.head (
    builtins.match ".*project\\(nightlight VERSION ([0-9.]+) .*" (builtins.readFile (root + "/CMakeLists.txt"))
  );
in
stdenv.mkDerivation {
  pname = "nightlight";
  inherit version;

  # The tree without build directories, data, the browser test's
  # node_modules and VCS files.
  src = lib.cleanSourceWith {
    src = lib.cleanSource root;
    filter =
      path: type:
      let
        name = baseNameOf path;
      in
      !(type == "directory" && (lib.hasPrefix "build" name || name == "data" || name == "node_modules"));
  };

  # python3: tests/e2e/tests.cmake looks for it at configure time (the
  # tests themselves are not built here). protobuf: find_package(Protobuf)
  # at configure time; only the tests and benchmarks link it.
  nativeBuildInputs = [
    cmake
    ninja
    pkg-config
    python3
    protobuf
  ];
  buildInputs = [
    caf_0_17
    openssl
    snappy
    re2
    yaml-cpp
    nlohmann_json
    boost
    jemalloc
    protobuf
  ];

  # Only the two programs: `ninja install` would first build every test
  # and benchmark. The install rules put them in bin/ and the manual pages
  # in share/man/man1/.
  buildPhase = ''
    runHook preBuild
    ninja -j$NIX_BUILD_CORES nightlight nightlight-tsdb
    runHook postBuild
  '';
  installPhase = ''
    runHook preInstall
    cmake --install .
    runHook postInstall
  '';

  meta = {
    description = "Prometheus-compatible time-series database with mutual TLS";
    longDescription = ''
      Nightlight stores the samples that Prometheus (or any remote-write 1.0
      sender) pushes to it and answers PromQL through the Prometheus HTTP
      API. Its HTTP listener can require client certificates and decide per
      client identity who may write, read and administer. Also contains
      nightlight-tsdb, the offline tool for its data directories.
    '';
    # No LICENSE file in the tree yet; the original design names MIT OR
    # Apache-2.0 (see packaging/debian/copyright).
    license = [
      lib.licenses.mit
      lib.licenses.asl20
    ];
    mainProgram = "nightlight";
    platforms = lib.platforms.linux;
  };
}
