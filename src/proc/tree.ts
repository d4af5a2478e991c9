import { existsSync, readdirSync, readFileSync } from "node:fs";

/**
 * Process inspection from Linux /proc: who a process's descendants are and what they cost. Used to
 * prove "no orphan child processes" in tests and to measure CPU and memory in benchmarks.
 */

const TICKS_PER_SECOND = 100; // USER_HZ, fixed at 100 on Linux

export interface ProcSample {
  /**
   * CPU time, seconds: the sum of its live threads' nanosecond run times where the kernel keeps them
   * (/proc/<pid>/task/<tid>/schedstat), else utime + stime in clock ticks. Ticks are 10 ms, and a
   * benchmark window of a mostly idle daemon holds only a few of them: one tick either way moved a
   * 1-camera result by 3%. A thread that exits within a window takes its time with it, which suits
   * the long-lived threads of ffmpeg and Node this measures.
   */
  cpuSeconds: number;
  rssBytes: number;
}

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: fields start after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ESRCH")
      return null;
    throw e;
  }
}

/** Kernels built without CONFIG_SCHED_INFO have no schedstat files. */
const HAVE_SCHEDSTAT = existsSync("/proc/self/schedstat");

/** Run time of a process's live threads in seconds, or null once it has exited. */
function threadRunSeconds(pid: number): number | null {
  let ns = 0;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ESRCH")
      return null;
    throw e;
  }
  for (const tid of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch (e) {
      // A thread that ended since the listing has no time left to add.
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" && (e as NodeJS.ErrnoException).code !== "ESRCH")
        throw e;
    }
  }
  return ns / 1e9;
}

/** CPU time and RSS of one process, or null once it has exited. */
export function procSample(pid: number): ProcSample | null {
  const f = statFields(pid);
  if (!f) return null;
  const precise = HAVE_SCHEDSTAT ? threadRunSeconds(pid) : undefined;
  if (precise === null) return null;
  let rssKb = 0;
  try {
    rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return null; // exited between the two reads
  }
  return {
    cpuSeconds: precise ?? (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND,
    rssBytes: rssKb * 1024,
  };
}

/** The executable name of a process ("ffmpeg", "python3"), or null once it has exited. */
export function procName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return null;
  }
}

/** PIDs of every live process whose parent chain leads to `pid`. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = Number(statFields(Number(name))?.[1]);
    if (!Number.isFinite(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** The parent of a running process, or null once it has exited (a zombie has: only its exit status is left). */
export function parentOf(pid: number): number | null {
  const f = statFields(pid);
  return f && f[0] !== "Z" ? Number(f[1]) : null;
}

export function isAlive(pid: number): boolean {
  return parentOf(pid) !== null;
}

/** The ancestors of a process, nearest first, each with its own parent, up to (not including) pid 1. */
export function ancestors(pid: number): { pid: number; ppid: number }[] {
  const chain: { pid: number; ppid: number }[] = [];
  let at = parentOf(pid);
  while (at !== null && at > 1 && chain.length < 64) {
    const ppid = parentOf(at);
    if (ppid === null) break;
    chain.push({ pid: at, ppid });
    at = ppid;
  }
  return chain;
}

/** The command line of a process as its arguments, or null once it has exited. */
export function procArgs(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ESRCH")
      return null;
    throw e;
  }
}

/** Live processes named `name` whose arguments contain `needle` (e.g. ffmpegs writing into a directory). */
export function processesMatching(name: string, needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (procName(pid) !== name) continue;
    if (procArgs(pid)?.some((a) => a.includes(needle))) out.push(pid);
  }
  return out;
}
