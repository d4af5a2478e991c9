// pm2 process file for production: `pm2 start ecosystem.config.js`.
// pscsd handles SIGTERM by closing HTTP, camera sessions and the catalog (and, once recording lands,
// the current segments); kill_timeout leaves it that time before pm2 sends SIGKILL.
module.exports = {
  apps: [
    {
      name: "pscsd",
      script: "dist/src/bin/pscsd.js",
      args: "--config /etc/pscs/pscs.yaml",
      cwd: __dirname,
      exec_mode: "fork",
      instances: 1,
      autorestart: true,
      // Exit 78 (EX_CONFIG) means a bad config: restarting cannot fix it, an operator must.
      stop_exit_codes: [0, 78],
      exp_backoff_restart_delay: 1000,
      max_restarts: 50,
      min_uptime: "30s",
      kill_timeout: 10000,
      max_memory_restart: "1G",
      out_file: "/var/log/pscs/pscsd.out.log",
      error_file: "/var/log/pscs/pscsd.err.log",
      merge_logs: true,
      time: false,
      env: { NODE_ENV: "production" },
    },
  ],
};
