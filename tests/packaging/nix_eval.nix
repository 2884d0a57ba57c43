# Evaluates flake.nix's outputs and its NixOS module with nixpkgs' real
# `lib` (and so the real module system and option types), but stand-ins for
# the packages and for the NixOS options the module sets: nothing is built
# or fetched. tests/packaging/nix_check.py runs it and checks the answers.
{
  lib,
  root,
}:

let
  system = "x86_64-linux";
  fakeDrv = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
  # The value type of pkgs.formats.yaml (nixpkgs/pkgs/pkgs-lib/formats.nix).
  yamlValue =
    lib.types.nullOr (
      lib.types.oneOf [
        lib.types.bool
        lib.types.int
        lib.types.float
        lib.types.str
        lib.types.path
        (lib.types.attrsOf yamlValue)
        (lib.types.listOf yamlValue)
      ]
    )
    // {
      description = "YAML value";
    };

  pkgs =
    lib.genAttrs [
      "cmake"
      "ninja"
      "pkg-config"
      "python3"
      "protobuf"
      "openssl"
      "snappy"
      "re2"
      "yaml-cpp"
      "nlohmann_json"
      "boost"
      "jemalloc"
      "coreutils"
    ] fakeDrv
    // {
      inherit lib;
      stdenv = {
        hostPlatform = { inherit system; };
        mkDerivation =
          f:
          let
            attrs = if builtins.isFunction f then f attrs else f;
          in
          attrs // fakeDrv "${attrs.pname}-${attrs.version}";
      };
      # callPackage as nixpkgs does it: every formal argument found here.
      callPackage =
        file: overrides:
        let
          f = import file;
        in
        f (builtins.intersectAttrs (builtins.functionArgs f) pkgs // overrides);
      fetchFromGitHub = args: fakeDrv "source" // { inherit (args) owner repo rev hash; };
      formats.yaml = _: {
        type = yamlValue;
        generate = name: value: fakeDrv name // { inherit value; };
      };
      mkShell = args: args;
    };

  outputs = (import (root + "/flake.nix")).outputs {
    self = outputs;
    nixpkgs = {
      inherit lib;
      legacyPackages.${system} = pkgs;
    };
  };

  # The NixOS options the module defines values for, loosely typed.
  nixosStandIns = {
    options = {
      assertions = lib.mkOption {
        type = lib.types.listOf lib.types.unspecified;
        default = [ ];
      };
      users.users = lib.mkOption {
        type = lib.types.attrsOf (lib.types.attrsOf lib.types.anything);
        default = { };
      };
      users.groups = lib.mkOption {
        type = lib.types.attrsOf (lib.types.attrsOf lib.types.anything);
        default = { };
      };
      environment.systemPackages = lib.mkOption {
        type = lib.types.listOf lib.types.package;
        default = [ ];
      };
      systemd.tmpfiles.rules = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
      };
      networking.firewall.allowedTCPPorts = lib.mkOption {
        type = lib.types.listOf lib.types.port;
        default = [ ];
      };
      systemd.services = lib.mkOption {
        type = lib.types.attrsOf (lib.types.attrsOf lib.types.anything);
        default = { };
      };
    };
  };

  # What a NixOS system with this configuration would get.
  system' =
    configuration:
    let
      inherit
        (lib.evalModules {
          modules = [
            nixosStandIns
            outputs.nixosModules.default
            configuration
          ];
          specialArgs = { inherit pkgs; };
        })
        config
        ;
      service = config.systemd.services.nightlight or { };
    in
    {
      failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
    }
    // lib.optionalAttrs (config.services.nightlight.enable && lib.all (a: a.assertion) config.assertions) {
      settings = config.services.nightlight.settings;
      execStart = service.serviceConfig.ExecStart;
      serviceConfig = service.serviceConfig;
      wantedBy = service.wantedBy;
      user = config.users.users.nightlight;
      group = config.users.groups ? nightlight;
      tmpfiles = config.systemd.tmpfiles.rules;
      firewall = config.networking.firewall.allowedTCPPorts;
      systemPackages = map (p: p.name) config.environment.systemPackages;
    };
in
{
  package = {
    inherit (outputs.packages.${system}.default) pname version;
    buildInputs = map (p: p.name) outputs.packages.${system}.default.buildInputs;
    caf = {
      inherit (outputs.packages.${system}.caf_0_17) version;
      inherit (outputs.packages.${system}.caf_0_17.src) owner repo rev hash;
    };
  };
  overlay = (outputs.overlays.default pkgs pkgs).nightlight.version;
  devShell = map (p: p.name) outputs.devShells.${system}.default.inputsFrom;

  disabled = system' { };
  plain = system' { services.nightlight.enable = true; };
  tls = system' {
    services.nightlight = {
      enable = true;
      openFirewall = true;
      tls.certFile = "/etc/nightlight/server.pem";
      tls.keyFile = "/etc/nightlight/server-key.pem";
      tls.caFile = "/etc/nightlight/ca.pem";
      settings = {
        server.http_addr = "0.0.0.0:9443";
        storage.data_dir = "/srv/nightlight";
        storage.retention = "30d";
        tls.require_client_cert = true;
        tls.allowed_writers = [ "writer" ];
        log.level = "debug";
      };
    };
  };
  keyWithoutCert = system' {
    services.nightlight = {
      enable = true;
      tls.keyFile = "/etc/nightlight/server-key.pem";
    };
  };
  relativeDataDir = system' {
    services.nightlight = {
      enable = true;
      settings.storage.data_dir = "data";
    };
  };
}
