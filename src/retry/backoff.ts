/**
 * Exponential backoff with full jitter (delay drawn uniformly from [0, min(cap, base·2^attempt)]).
 * Jitter matters here: after a network blip, dozens of cameras and recorders retry together, and
 * without it they hammer the switch and the cameras in lockstep.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /**
   * 'equal' draws from the upper half of the window instead, [ceiling/2, ceiling]: the retry rate
   * then falls for sure as failures repeat, not only on average (a dead stream's ffmpeg restarts).
   */
  jitter?: "full" | "equal";
}

export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  const drawn = policy.jitter === "equal" ? ceiling / 2 + random() * (ceiling / 2) : random() * ceiling;
  // Never below base/2: a zero delay would turn a hard failure into a busy loop.
  return Math.max(policy.baseMs / 2, Math.floor(drawn));
}

/** Resolves after `ms`, or early (rejecting with the signal's reason) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
