import type { Command } from "commander";
import { ConfigError, loadConfig } from "../config/load.js";
import { PTZ_PURPOSE_KINDS, type PtzPurpose } from "../ptz/purpose.js";
import { CliError, DEFAULT_CONFIG, print, readPassword } from "./common.js";

/**
 * `pscs ptz status|presets|goto|move|home|zones|zone-set|zone-remove`: PTZ control and privacy
 * zones at the console as a named user. Control lives in the running pscsd (one controller per
 * camera, the dead-man, the zones, the audit), so these talk to its API, signed in as `--as` for the
 * one command: a move takes control with `--purpose`, moves, and releases, exactly as a dispatcher's
 * screen would; an admin sets and removes zones with `--reason`; every rule is pscsd's.
 */

interface Common {
  config: string;
  url?: string;
  as: string;
  json?: boolean;
}

interface Session {
  base: URL;
  cookie: string;
  csrf: string;
}

function baseUrl(o: Common): URL {
  try {
    if (o.url) return new URL(o.url);
  } catch {
    throw new CliError(`--url: expected a URL such as http://127.0.0.1:8080, got '${o.url}'`, 2);
  }
  try {
    const c = loadConfig(o.config);
    const host = c.http.host === "0.0.0.0" ? "127.0.0.1" : c.http.host;
    return new URL(
      `${c.http.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${c.http.port}`,
    );
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message, 78);
    throw e;
  }
}

/** `kind[:reference or note]`: incident:CAD-123, investigation:26-000123, event:Harbourfest, emergency. */
export function parsePurpose(text: string | undefined): PtzPurpose {
  if (!text)
    throw new CliError(
      `--purpose: expected one of ${PTZ_PURPOSE_KINDS.join(", ")}, e.g. incident:CAD-2026-0042`,
      2,
    );
  const at = text.indexOf(":");
  const kind = (at < 0 ? text : text.slice(0, at)).trim();
  const rest = at < 0 ? "" : text.slice(at + 1).trim();
  if (!(PTZ_PURPOSE_KINDS as readonly string[]).includes(kind)) {
    throw new CliError(`--purpose: '${kind}' is not one of ${PTZ_PURPOSE_KINDS.join(", ")}`, 2);
  }
  const k = kind as PtzPurpose["kind"];
  if (!rest) return { kind: k };
  return k === "incident" || k === "investigation" ? { kind: k, reference: rest } : { kind: k, note: rest };
}

/** `pan,tilt[,zoom]` (empty parts left out: `,,0.5` is zoom only). */
function parseVector(option: string, text: string): Record<string, number> {
  const parts = text.split(",");
  if (parts.length > 3) throw new CliError(`${option}: expected pan,tilt[,zoom]`, 2);
  const out: Record<string, number> = {};
  (["pan", "tilt", "zoom"] as const).forEach((axis, i) => {
    const p = parts[i]?.trim();
    if (!p) return;
    const n = Number(p);
    if (!Number.isFinite(n)) throw new CliError(`${option}: ${axis} '${p}' is not a number`, 2);
    out[axis] = n;
  });
  return out;
}

/** `min,max` for one axis of a zone. */
function parseRange(option: string, text: string): [number, number] {
  const parts = text.split(",").map((p) => Number(p.trim()));
  const [lo, hi] = parts;
  if (parts.length !== 2 || lo === undefined || hi === undefined || !parts.every(Number.isFinite)) {
    throw new CliError(`${option}: expected min,max (two numbers)`, 2);
  }
  return [lo, hi];
}

/** The problem pscsd answered, as one line and the CLI's exit code for its status. */
async function refused(res: Response): Promise<never> {
  const p = (await res.json().catch(() => ({}))) as { detail?: string; title?: string };
  const code = res.status === 400 ? 2 : res.status === 401 || res.status === 403 ? 77 : 1;
  throw new CliError(`pscsd refused (${res.status}): ${p.detail ?? p.title ?? res.statusText}`, code);
}

async function call(s: Session, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, s.base), {
      method,
      signal: AbortSignal.timeout(30_000),
      headers: {
        cookie: s.cookie,
        "x-csrf-token": s.csrf,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new CliError(`pscsd at ${s.base.origin} is not answering: ${e instanceof Error ? e.message : e}`);
  }
  if (!res.ok) return refused(res);
  return res.status === 204 ? undefined : res.json();
}

/** Signs in as `--as` for this one command (password prompted, or one line on stdin); signs out after. */
async function asUser<T>(o: Common, f: (s: Session) => Promise<T>): Promise<T> {
  if (!o.as) throw new CliError("--as: expected your user name (this command acts as a named user)", 2);
  const base = baseUrl(o);
  const password = await readPassword(`password for ${o.as}: `, undefined);
  let res: Response;
  try {
    res = await fetch(new URL("/api/session", base), {
      method: "POST",
      signal: AbortSignal.timeout(30_000),
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: o.as, password }),
    });
  } catch (e) {
    throw new CliError(`pscsd at ${base.origin} is not answering: ${e instanceof Error ? e.message : e}`);
  }
  if (!res.ok) return refused(res);
  const cookie = /pscs_session=[^;]+/.exec(res.headers.get("set-cookie") ?? "")?.[0];
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  if (!cookie) throw new CliError("pscsd signed in without a session cookie");
  const s = { base, cookie, csrf: csrfToken };
  try {
    return await f(s);
  } finally {
    await call(s, "DELETE", "/api/session").catch(() => undefined);
  }
}

/** Takes control for the purpose, runs `f`, and releases control whatever happened. */
async function controlling<T>(
  s: Session,
  camera: string,
  purpose: PtzPurpose,
  f: () => Promise<T>,
): Promise<T> {
  const path = `/api/cameras/${encodeURIComponent(camera)}/ptz`;
  await call(s, "POST", `${path}/control`, { purpose });
  try {
    return await f();
  } finally {
    await call(s, "DELETE", `${path}/control`).catch(() => undefined);
  }
}

const ptzPath = (camera: string, rest = "") => `/api/cameras/${encodeURIComponent(camera)}/ptz${rest}`;

function common(c: Command): Command {
  return c
    .requiredOption("--as <user>", "act as this named user (password prompted, or one line on stdin)")
    .option("-c, --config <file>", "configuration file (for pscsd's address)", DEFAULT_CONFIG)
    .option("--url <url>", "pscsd base URL (default: from the configuration's http section)")
    .option("--json", "machine-readable output");
}

const fmt = (n: unknown) => (typeof n === "number" ? n.toFixed(3) : "?");

export function ptzCommands(program: Command): void {
  const ptz = program.command("ptz").description("PTZ control as a named user (through the running pscsd)");
  common(
    ptz.command("status <camera>").description("the camera's position, move status and who controls it"),
  ).action((camera: string, o: Common) =>
    asUser(o, async (s) => {
      const st = (await call(s, "GET", ptzPath(camera))) as {
        position: { pan: number; tilt: number; zoom: number };
        moveStatus: { panTilt: string; zoom: string };
        lock: { actor: string; since: number; purpose: PtzPurpose } | null;
      };
      print(!!o.json, st, () =>
        [
          `${camera}: pan ${fmt(st.position.pan)} tilt ${fmt(st.position.tilt)} zoom ${fmt(st.position.zoom)} (pan/tilt ${st.moveStatus.panTilt}, zoom ${st.moveStatus.zoom})`,
          st.lock
            ? `controlled by ${st.lock.actor} since ${new Date(st.lock.since).toISOString()} for ${st.lock.purpose.kind} ${st.lock.purpose.reference ?? st.lock.purpose.note ?? ""}`.trimEnd()
            : "not controlled",
        ].join("\n"),
      );
    }),
  );
  common(ptz.command("presets <camera>").description("the camera's presets")).action(
    (camera: string, o: Common) =>
      asUser(o, async (s) => {
        const { presets } = (await call(s, "GET", ptzPath(camera, "/presets"))) as {
          presets: { token: string; name: string; position?: { pan: number; tilt: number; zoom: number } }[];
        };
        print(!!o.json, presets, () =>
          presets.length
            ? presets
                .map(
                  (p) =>
                    `${p.token.padEnd(8)} ${p.name}${p.position ? `  (pan ${fmt(p.position.pan)} tilt ${fmt(p.position.tilt)} zoom ${fmt(p.position.zoom)})` : ""}`,
                )
                .join("\n")
            : "no presets",
        );
      }),
  );
  const withPurpose = (c: Command) =>
    common(c).requiredOption(
      "--purpose <kind[:ref]>",
      "why: incident:<CAD number>, investigation:<case number>, event:<event>, emergency[:<what>]",
    );
  withPurpose(ptz.command("goto <camera> <preset>").description("go to a preset (by token)")).action(
    (camera: string, preset: string, o: Common & { purpose: string }) => {
      const purpose = parsePurpose(o.purpose);
      return asUser(o, (s) =>
        controlling(s, camera, purpose, async () => {
          await call(s, "POST", ptzPath(camera, `/presets/${encodeURIComponent(preset)}/goto`));
          print(!!o.json, { camera, preset }, () => `${camera}: going to preset ${preset}`);
        }),
      );
    },
  );
  withPurpose(
    ptz.command("move <camera>").description("move to a position (--to) or by a translation (--by)"),
  )
    .option("--to <pan,tilt[,zoom]>", "absolute position: pan, tilt in [-1, 1], zoom in [0, 1]")
    .option("--by <pan,tilt[,zoom]>", "relative translation, each in [-1, 1]")
    .action((camera: string, o: Common & { purpose: string; to?: string; by?: string }) => {
      if ((o.to === undefined) === (o.by === undefined)) throw new CliError("give one of --to or --by", 2);
      const purpose = parsePurpose(o.purpose);
      const [route, body] =
        o.to !== undefined
          ? ["/absolute", { position: parseVector("--to", o.to) }]
          : ["/relative", { translation: parseVector("--by", o.by ?? "") }];
      return asUser(o, (s) =>
        controlling(s, camera, purpose, async () => {
          await call(s, "POST", ptzPath(camera, route), body);
          print(!!o.json, { camera, ...body }, () => `${camera}: moving ${JSON.stringify(body)}`);
        }),
      );
    });
  common(
    ptz.command("zones <camera>").description("the camera's privacy zones, and which are in view now"),
  ).action((camera: string, o: Common) =>
    asUser(o, async (s) => {
      const v = (await call(s, "GET", `/api/cameras/${encodeURIComponent(camera)}/privacy-zones`)) as {
        zones: {
          id: string;
          source: string;
          pan: [number, number];
          tilt: [number, number];
          maxZoom: number;
          inView: boolean | null;
        }[];
      };
      print(!!o.json, v, () =>
        v.zones.length
          ? v.zones
              .map(
                (z) =>
                  `${z.id.padEnd(20)} pan ${fmt(z.pan[0])}..${fmt(z.pan[1])} tilt ${fmt(z.tilt[0])}..${fmt(z.tilt[1])} max zoom ${fmt(z.maxZoom)}  (${z.source}${z.inView === null ? "" : z.inView ? ", in view" : ""})`,
              )
              .join("\n")
          : "no privacy zones",
      );
    }),
  );
  common(ptz.command("zone-set <camera> <zone>").description("add or change a privacy zone (admin)"))
    .requiredOption("--pan <min,max>", "the zone's pan range, in [-1, 1]")
    .requiredOption("--tilt <min,max>", "the zone's tilt range, in [-1, 1]")
    .requiredOption("--max-zoom <zoom>", "the highest zoom at which the zone may be in view, in [0, 1]")
    .requiredOption("--reason <text>", "why (recorded in the audit log)")
    .action(
      (
        camera: string,
        zone: string,
        o: Common & { pan: string; tilt: string; maxZoom: string; reason: string },
      ) => {
        const body = {
          pan: parseRange("--pan", o.pan),
          tilt: parseRange("--tilt", o.tilt),
          maxZoom: Number(o.maxZoom),
          reason: o.reason,
        };
        if (!Number.isFinite(body.maxZoom)) throw new CliError("--max-zoom: expected a number", 2);
        return asUser(o, async (s) => {
          const path = `/api/cameras/${encodeURIComponent(camera)}/privacy-zones/${encodeURIComponent(zone)}`;
          const saved = await call(s, "PUT", path, body);
          print(!!o.json, saved, () => `${camera}: privacy zone ${zone} set`);
        });
      },
    );
  common(
    ptz
      .command("zone-remove <camera> <zone>")
      .description("remove a privacy zone set through the API (admin)"),
  )
    .requiredOption("--reason <text>", "why (recorded in the audit log)")
    .action((camera: string, zone: string, o: Common & { reason: string }) =>
      asUser(o, async (s) => {
        const path = `/api/cameras/${encodeURIComponent(camera)}/privacy-zones/${encodeURIComponent(zone)}`;
        await call(s, "DELETE", path, { reason: o.reason });
        print(!!o.json, { camera, zone }, () => `${camera}: privacy zone ${zone} removed`);
      }),
    );
  withPurpose(ptz.command("home <camera>").description("go to the home position")).action(
    (camera: string, o: Common & { purpose: string }) => {
      const purpose = parsePurpose(o.purpose);
      return asUser(o, (s) =>
        controlling(s, camera, purpose, async () => {
          await call(s, "POST", ptzPath(camera, "/home/goto"));
          print(!!o.json, { camera }, () => `${camera}: going home`);
        }),
      );
    },
  );
}
