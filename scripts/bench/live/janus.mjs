// Janus 1.1.2 as the benchmark's peer: a config folder of the benchmark's own (`janus -F DIR`,
// nothing in /etc read or changed) holding only the streaming plugin and the HTTP transport, and one
// RTP mountpoint that ffmpeg feeds with the camera's stream, as ZoneMinder feeds it.
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const LIB = "/usr/lib/x86_64-linux-gnu/janus";

/**
 * Writes the folder. `iceAddress` is the one interface libnice may gather on (Janus 1.1.2 gathers
 * on every non-loopback interface unless told, never on loopback): the benchmark namespace's veth.
 */
export function janusConfig(dir, o) {
  for (const [kind, lib] of [
    ["plugins", "libjanus_streaming.so"],
    ["transports", "libjanus_http.so"],
    ["events", null],
    ["loggers", null],
  ]) {
    mkdirSync(join(dir, kind), { recursive: true });
    if (lib) symlinkSync(join(LIB, kind, lib), join(dir, kind, lib));
  }
  writeFileSync(
    join(dir, "janus.jcfg"),
    `general: {
  configs_folder = "${dir}"
  plugins_folder = "${dir}/plugins"
  transports_folder = "${dir}/transports"
  events_folder = "${dir}/events"
  loggers_folder = "${dir}/loggers"
  debug_level = 3
  log_to_stdout = true
  interface = "${o.iceAddress}"
}
media: {
  rtp_port_range = "${o.rtpPorts}"
}
nat: {
  ice_enforce_list = "${o.iceInterface}"
  ignore_mdns = true
}
`,
  );
  writeFileSync(
    join(dir, "janus.transport.http.jcfg"),
    `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${o.httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
}
cors: {
  allow_origin = "*"
}
`,
  );
  writeFileSync(
    join(dir, "janus.plugin.streaming.jcfg"),
    `general: {
}
camera: {
  type = "rtp"
  id = 1
  description = "simulated camera"
  media = (
    {
      type = "video"
      mid = "v"
      port = ${o.videoPort}
      iface = "127.0.0.1"
      pt = 96
      codec = "h264"
      fmtp = "profile-level-id=42e01f;packetization-mode=1"
    }
  )
}
`,
  );
  return dir;
}
