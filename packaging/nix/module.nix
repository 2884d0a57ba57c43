# NixOS module: services.nightlight. `settings` is the YAML configuration
# (README.md, "Configuration", lists every key); the service runs as the
# system user nightlight with the same sandbox as the Debian package's unit
# (packaging/debian/nightlight.service). UNBUILT: see README.md, "Nix".
{
  config,
  lib,
  pkgs,
  ...
}:

let
  cfg = config.services.nightlight;
  settingsFormat = pkgs.formats.yaml { };
  configFile = settingsFormat.generate "nightlight.yaml" cfg.settings;
  dataDir = cfg.settings.storage.data_dir;
  # "127.0.0.1:9101", "[::]:9101" -> 9101
  httpPort = lib.toInt (lib.last (lib.splitString ":" cfg.settings.server.http_addr));
  tlsFiles = lib.filter (f: f != null) [
    cfg.tls.certFile
    cfg.tls.keyFile
    cfg.tls.caFile
  ];
in
{
  options.services.nightlight = {
    enable = lib.mkEnableOption "Nightlight, a Prometheus-compatible time-series database";

    package = lib.mkOption {
      type = lib.types.package;
      description = "The Nightlight package (the flake's nixosModules.default sets its own).";
    };

    settings = lib.mkOption {
      description = ''
        Nightlight's configuration, written to a YAML file in the Nix store
        and passed with `--config`. Keys and defaults are those of the
        README's configuration table; an unknown key stops the service at
        start (exit status 2, no restart loop).
      '';
      default = { };
      example = lib.literalExpression ''
        {
          server.http_addr = "0.0.0.0:9101";
          storage.retention = "30d";
          tls.require_client_cert = true;
          tls.allowed_writers = [ "prometheus" ];
          tls.allowed_readers = [ "grafana" ];
        }
      '';
      type = lib.types.submodule {
        freeformType = settingsFormat.type;
        options.server = lib.mkOption {
          default = { };
          description = "The `server` section.";
          type = lib.types.submodule {
            freeformType = settingsFormat.type;
            options.http_addr = lib.mkOption {
              type = lib.types.str;
              default = "127.0.0.1:9101";
              description = "Address and port of the HTTP listener.";
            };
          };
        };
        options.storage = lib.mkOption {
          default = { };
          description = "The `storage` section.";
          type = lib.types.submodule {
            freeformType = settingsFormat.type;
            options.data_dir = lib.mkOption {
              type = lib.types.str;
              default = "/var/lib/nightlight";
              description = ''
                The data directory: the only path the service may write.
                Created owned by the nightlight user if it does not exist.
              '';
            };
          };
        };
      };
    };

    tls = {
      certFile = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/var/lib/acme/nightlight.example/fullchain.pem";
        description = ''
          Server certificate chain (PEM), leaf first; sets
          `settings.tls.cert_file` and turns the listener to HTTPS. A path
          string, not a Nix path: the files must not be copied into the
          world-readable store. They must be readable by the nightlight
          user (e.g. group nightlight, mode 0640). Renewed files are picked
          up within 5 seconds, or at once by `systemctl reload nightlight`.
        '';
      };
      keyFile = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/var/lib/acme/nightlight.example/key.pem";
        description = "Private key (unencrypted PEM) of `certFile`; sets `settings.tls.key_file`.";
      };
      caFile = lib.mkOption {
        type = lib.types.nullOr lib.types.str;
        default = null;
        example = "/etc/nightlight/client-ca.pem";
        description = ''
          CA bundle that signs client certificates; sets
          `settings.tls.ca_file`. Mutual TLS also needs
          `settings.tls.require_client_cert = true`.
        '';
      };
    };

    openFirewall = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Open the port of `settings.server.http_addr` in the firewall.";
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = (cfg.tls.certFile == null) == (cfg.tls.keyFile == null);
        message = "services.nightlight.tls: certFile and keyFile go together.";
      }
      {
        assertion = lib.all (lib.hasPrefix "/") tlsFiles;
        message = "services.nightlight.tls: the files must be absolute paths.";
      }
      {
        assertion = lib.hasPrefix "/" dataDir;
        message = "services.nightlight.settings.storage.data_dir must be an absolute path.";
      }
    ];

    services.nightlight.settings = lib.mkIf (tlsFiles != [ ]) {
      tls = lib.filterAttrs (_: file: file != null) {
        cert_file = cfg.tls.certFile;
        key_file = cfg.tls.keyFile;
        ca_file = cfg.tls.caFile;
      };
    };

    users.users.nightlight = {
      isSystemUser = true;
      group = "nightlight";
      home = dataDir;
      description = "Nightlight time-series database";
    };
    users.groups.nightlight = { };

    # nightlight-tsdb for the administrator (run it as the nightlight user).
    environment.systemPackages = [ cfg.package ];

    systemd.tmpfiles.rules = [ "d ${dataDir} 0750 nightlight nightlight - -" ];

    networking.firewall.allowedTCPPorts = lib.mkIf cfg.openFirewall [ httpPort ];

    systemd.services.nightlight = {
      description = "Nightlight time-series database";
      documentation = [ "man:nightlight(1)" ];
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      serviceConfig = {
        Type = "exec";
        User = "nightlight";
        Group = "nightlight";
        ExecStart = "${cfg.package}/bin/nightlight --config ${configFile}";
        # SIGHUP re-reads the three TLS files, nothing else; without TLS it
        # is ignored. Other settings take effect on restart, which a
        # changed configuration triggers on `nixos-rebuild switch`.
        ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
        Restart = "on-failure";
        # Exit status 2: configuration error, a restart cannot fix it.
        RestartPreventExitStatus = 2;
        TimeoutStopSec = 60;
        LimitNOFILE = 65536;

        ReadWritePaths = [ dataDir ];
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        PrivateMounts = true;
        PrivateUsers = true;
        NoNewPrivileges = true;
        CapabilityBoundingSet = "";
        AmbientCapabilities = "";
        ProtectClock = true;
        ProtectControlGroups = true;
        ProtectHostname = true;
        ProtectKernelLogs = true;
        ProtectKernelModules = true;
        ProtectKernelTunables = true;
        ProtectProc = "invisible";
        RestrictAddressFamilies = [
          "AF_INET"
          "AF_INET6"
          "AF_UNIX"
        ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        MemoryDenyWriteExecute = true;
        RemoveIPC = true;
        UMask = "0027";
        SystemCallArchitectures = "native";
        SystemCallFilter = [
          "@system-service"
          "~@privileged"
        ];
        SystemCallErrorNumber = "EPERM";
      };
    };
  };
}
