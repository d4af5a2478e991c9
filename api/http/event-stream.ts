import type { Request, Response } from "express";
import type { Auth } from "../../src/auth/service.js";
import { sessionIdOf } from "./authn.js";
import { clientOf } from "./route.js";

/**
 * A Server-Sent Events answer (`text/event-stream`) held open: events written as they come, each
 * with its id (a reconnecting EventSource sends the last as `Last-Event-ID`). Invariant: the stream
 * ends when the client leaves, and when the signed-in session that opened it ends (re-checked every
 * `sessionCheckMs`, never as presence: an open stream does not keep an unattended session alive,
 * see authn.ts `isBackground`); each re-check also writes a comment, so a dead peer is found.
 */

export interface EventStreamOptions {
  auth: Pick<Auth, "authenticateSession">;
  sessionCheckMs: number;
}

/** Whether the request asks for an event stream rather than JSON (EventSource always does). */
export function wantsEventStream(req: Request): boolean {
  return /\btext\/event-stream\b/.test(req.get("accept") ?? "");
}

/** The id a reconnecting EventSource says it saw last, when it says one. */
export function lastEventId(req: Request): number | undefined {
  const id = Number(req.get("last-event-id"));
  return Number.isSafeInteger(id) && id >= 0 ? id : undefined;
}

export interface EventStream {
  send(id: number, data: unknown): void;
  /** Resolves once the stream has ended, for whatever reason. */
  ended: Promise<string>;
}

export function openEventStream(req: Request, res: Response, o: EventStreamOptions): EventStream {
  res.status(200).set({
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
  });
  res.flushHeaders();
  const sid = sessionIdOf(req);
  let finish: (why: string) => void = () => undefined;
  const ended = new Promise<string>((resolve) => {
    finish = (why) => {
      clearInterval(check);
      if (!res.writableEnded) res.end();
      resolve(why);
    };
  });
  const check = setInterval(() => {
    if (!sid) return void res.write(": ok\n\n");
    o.auth.authenticateSession(sid, clientOf(req), { presence: false }).then(
      (still) => {
        if (!still) return finish("session ended");
        res.write(": ok\n\n");
      },
      () => finish("session not re-checked"),
    );
  }, o.sessionCheckMs);
  check.unref();
  res.on("close", () => finish("client left"));
  return {
    send(id, data) {
      if (!res.writableEnded) res.write(`id: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    ended,
  };
}
