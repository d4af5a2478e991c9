import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { WebRtcPlayer, type WebRtcPlayerState } from "../live/webrtc-player.js";

interface Mask {
  id: string;
  name?: string;
  mask: { x: number; y: number; w: number; h: number } | null;
}

/**
 * One camera's live picture: the player (WebRTC), its state as a badge, and the privacy zones in
 * view drawn as opaque masks over the picture (pscsd computes where each falls from the camera's
 * position; the recording underneath is untouched). Reconnecting is the player's.
 */
export function LiveTile(p: { camera: string; name: string; big?: boolean; onOpen?: () => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState<WebRtcPlayerState>("idle");
  const [detail, setDetail] = useState<string | undefined>(undefined);
  const [masks, setMasks] = useState<Mask[]>([]);

  useEffect(() => {
    const el = video.current;
    if (!el) return;
    const player = new WebRtcPlayer(el, {
      camera: p.camera,
      onState: (s, d) => {
        setState(s);
        setDetail(d);
      },
    });
    void player.start();
    return () => void player.stop();
  }, [p.camera]);

  useEffect(() => {
    let stopped = false;
    const load = () =>
      api<{ zones: Mask[] }>(`/api/cameras/${encodeURIComponent(p.camera)}/privacy-zones`, {
        background: true,
      }).then(
        (r) => !stopped && setMasks(r.zones.filter((z) => z.mask)),
        () => undefined,
      );
    void load();
    // While someone moves the camera the masks move with it: twice a second is what the eye needs.
    const t = setInterval(load, 500);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, [p.camera]);

  return (
    <figure class={p.big ? "tile big" : "tile"} data-camera={p.camera} data-state={state}>
      <div class="picture">
        <video ref={video} muted playsInline aria-label={`Live: ${p.name}`} />
        {masks.map((m) => (
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
        <span class={`badge ${state}`} title={detail}>
          {state}
        </span>
      </figcaption>
    </figure>
  );
}
