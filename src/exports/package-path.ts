import { textFault } from "../text/well-formed.js";

/**
 * What a path inside an export package may be, one rule for the zip writer, the zip reader and the
 * verifier: relative, `/`-separated, every segment a plain name. A recipient unpacks the zip with
 * whatever tool they have, so a name that some tool would place outside the folder (`..`, an
 * absolute path, a Windows drive or `\` separator) or that two tools would read differently is
 * refused rather than trusted to be handled.
 */
export function packagePathProblem(path: string): string | undefined {
  if (path === "") return "an empty path";
  const fault = textFault(path);
  if (fault) return fault;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f]/.test(path)) return "a control character in the path";
  if (path.includes("\\")) return "a backslash in the path (a separator on Windows)";
  if (path.startsWith("/")) return "an absolute path";
  if (path.includes(":")) return "a ':' in the path (a drive or stream name on Windows)";
  for (const segment of path.split("/")) {
    if (segment === "") return "an empty path segment ('//' or a trailing '/')";
    if (segment === "." || segment === "..") return `a '${segment}' path segment`;
  }
  return undefined;
}
