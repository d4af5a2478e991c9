// pm2 process file for production: `pm2 start ecosystem.config.js`.
// ESM (the package is "type": "module"): pm2 require()s this file, and Node >= 20.19 hands it the
// module namespace, whose `apps` export is what pm2 reads.
//
// pscsd stops on SIGINT (pm2's default kill signal) or SIGTERM by closing HTTP, camera sessions and the
// catalog; kill_timeout is the grace pm2 leaves it before SIGKILL (pscsd gives up on itself at 8 s).
const config = process.env.PSCS_CONFIG ?? "/etc/pscs/pscs.yaml";
const logDir = process.env.PSCS_LOG_DIR ?? "/var/log/pscs";

export const apps = [
  {
    name: "pscsd",
    script: "dist/src/bin/pscsd.js",
    args: ["--config", config],
    cwd: import.meta.dirname,
    exec_mode: "fork",
    instances: 1,
    autorestart: true,
    // 78 (EX_CONFIG) is a bad config or a catalog from a newer pscsd: a restart cannot fix it.
    stop_exit_codes: [0, 78],
    exp_backoff_restart_delay: 1000,
    max_restarts: 50,
    min_uptime: "30s",
    kill_timeout: 10000,
    max_memory_restart: "1G",
    out_file: `${logDir}/pscsd.out.log`,
    error_file: `${logDir}/pscsd.err.log`,
    merge_logs: true,
    env: { NODE_ENV: "production" },
  },
];
