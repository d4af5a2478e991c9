import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { DEFAULT_TRANSPORT, type LiveState, livePlayer, other, type Transport } from "./live-player.js";

interface Mask {
  id: string;
  name?: string;
  mask: { x: number; y: number; w: number; h: number } | null;
}

/** A transport not playing this long after it started gives way to the other. */
const FALLBACK_MS = 6_000;
/**
 * How often a tile asks where its camera's privacy zones fall: while someone moves the camera the
 * masks move with it, and twice a second is what the eye needs; a camera with no zone at all has
 * nothing to move, and a zone added to it shows within ZONES_NONE_MS (pscsd asks the camera where
 * it points on every request: nine tiles at twice a second were 18 camera round trips a second).
 */
const ZONES_MOVING_MS = 500;
const ZONES_NONE_MS = 5_000;
const NOT_YET_KNOWN = "Privacy zones not yet known";
const POSITION_UNKNOWN = "Camera position unknown: covered for its privacy zones";

/**
 * One camera's live picture: the player (the default transport, the other when it fails or does
 * not play in FALLBACK_MS: UDP blocked on the way, say), its state and delay as a badge, and the
 * privacy zones in view drawn as opaque masks over the picture (pscsd computes where each falls
 * from the camera's position; the recording underneath is untouched). Reconnecting is the player's.
 * Invariant: until pscsd has said where the zones fall, and whenever a camera with zones does not say
 * where it points, the whole picture is covered (policy Use 4: a live view never shows a private
 * area, not even for the moment its first answer takes).
 */
export function LiveTile(p: { camera: string; name: string; big?: boolean; onOpen?: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [transport, setTransport] = useState<Transport>(DEFAULT_TRANSPORT);
  const [state, setState] = useState<LiveState>("connecting");
  const [detail, setDetail] = useState<string | undefined>(undefined);
  const [heldMs, setHeldMs] = useState<number | undefined>(undefined);
  const [masks, setMasks] = useState<Mask[] | undefined>(undefined);
  const [coverWhy, setCoverWhy] = useState(NOT_YET_KNOWN);

  useEffect(() => {
    const el = video.current;
    if (!el) return;
    let playing = false;
    const player = livePlayer(transport, el, p.camera, (s, d) => {
      playing ||= s === "playing";
      setState(s);
      setDetail(d);
      if (s === "failed" && transport === DEFAULT_TRANSPORT) setTransport(other(transport));
    });
    player.start();
    const fallback =
      transport === DEFAULT_TRANSPORT
        ? setTimeout(() => {
            if (!playing) setTransport(other(transport));
          }, FALLBACK_MS)
        : undefined;
    const delay = setInterval(() => {
      player.heldMs().then(setHeldMs, () => setHeldMs(undefined));
    }, 2_000);
    return () => {
      clearTimeout(fallback);
      clearInterval(delay);
      player.stop();
    };
  }, [p.camera, transport]);

  useEffect(() => {
    let stopped = false;
    let masksKnown = false;
    setMasks(undefined);
    setCoverWhy(NOT_YET_KNOWN);
    let t: ReturnType<typeof setTimeout> | undefined;
    const load = () =>
      api<{ position: unknown; zones: Mask[] }>(
        `/api/cameras/${encodeURIComponent(p.camera)}/privacy-zones`,
        { background: true },
      ).then(
        (r) => {
          if (stopped) return;
          masksKnown = true;
          // Zones, but the camera did not say where it points: nothing can be placed, all is covered.
          if (r.zones.length > 0 && r.position === null) {
            setCoverWhy(POSITION_UNKNOWN);
            setMasks(undefined);
          } else {
            const shown = r.zones.filter((z) => z.mask);
            // An unchanged answer draws nothing again.
            setMasks((old) => (JSON.stringify(old) === JSON.stringify(shown) ? old : shown));
          }
          again(r.zones.length > 0 ? ZONES_MOVING_MS : ZONES_NONE_MS);
        },
        // Not known yet: asked again soon, the picture still covered; known before: kept.
        () => !stopped && again(masksKnown ? ZONES_NONE_MS : ZONES_MOVING_MS),
      );
    const again = (ms: number) => {
      t = setTimeout(load, ms);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(t);
    };
  }, [p.camera]);

  return (
    <figure
      class={p.big ? "tile big" : "tile"}
      data-camera={p.camera}
      data-state={state}
      data-transport={transport}
    >
      <div class="picture">
        <video ref={video} muted playsInline aria-label={`Live: ${p.name}`} />
        {masks === undefined && (
          <div class="cover" role="status">
            {coverWhy}
          </div>
        )}
        {masks?.map((m) => (
          <div
            key={m.id}
            class="mask"
            title={`Privacy zone ${m.name ?? m.id}`}
            style={
              m.mask
                ? {
                    left: `${m.mask.x * 100}%`,
                    top: `${m.mask.y * 100}%`,
                    width: `${m.mask.w * 100}%`,
                    height: `${m.mask.h * 100}%`,
                  }
                : undefined
            }
          />
        ))}
      </div>
      <figcaption>
        {p.onOpen ? (
          <button type="button" class="tile-name" onClick={p.onOpen} aria-label={`Enlarge ${p.name}`}>
            {p.name}
          </button>
        ) : (
          <span class="tile-name">{p.name}</span>
        )}
        <span class="tile-facts">
          <span class="hint">
            {transport === "webrtc" ? "WebRTC" : "MSE"}
            {state === "playing" && heldMs !== undefined ? ` · ${Math.round(heldMs)} ms held` : ""}
          </span>
          <span class={`badge ${state}`} title={detail}>
            {state}
          </span>
        </span>
      </figcaption>
    </figure>
  );
}
