# Nightlight for Nix and NixOS. UNBUILT: our machines cannot reach Nix's
# binary cache, so `nix build` has never run on it; README.md, "Nix", says
# what was checked instead (parsing, evaluation with nixpkgs' lib).
{
  description = "Nightlight, a Prometheus-compatible time-series database with mutual TLS";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

  outputs =
    { self, nixpkgs }:
    let
      # The only platform Nightlight is built and tested on (Debian 12).
      systems = [ "x86_64-linux" ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        caf_0_17 = pkgs.callPackage ./packaging/nix/caf.nix { };
        nightlight = pkgs.callPackage ./packaging/nix/package.nix { inherit caf_0_17; };
        default = nightlight;
      });

      overlays.default = final: _prev: {
        nightlight = final.callPackage ./packaging/nix/package.nix { };
      };

      # services.nightlight, with this flake's package as the default.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./packaging/nix/module.nix ];
          services.nightlight.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };

      # `nix develop`: the build inputs, then cmake/ninja as in the README.
      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.stdenv.hostPlatform.system}.default ];
        };
      });
    };
}
