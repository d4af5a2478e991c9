/**
 * What makes text acceptable to pscsd: well-formed Unicode (no lone UTF-16 surrogate: SQLite keeps
 * one as bytes that read back as other text) and no NUL (C tools such as the sqlite3 shell cut text
 * at it, hiding the rest from whoever reads it there). Every boundary (HTTP, CLI, config, camera
 * answers) asks this of each string it takes in, so the catalog, the audit chain and the logs only
 * ever hold text that reads back as it was written.
 */

/** Why a string is refused, or undefined when it is acceptable. */
export function textFault(s: string): string | undefined {
  if (!s.isWellFormed()) {
    const at = firstLoneSurrogate(s);
    return `not well-formed Unicode (a lone UTF-16 surrogate at offset ${at})`;
  }
  const nul = s.indexOf("\0");
  if (nul >= 0) return `contains a NUL character (at offset ${nul})`;
  return undefined;
}

function firstLoneSurrogate(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

export interface TextFaultAt {
  /** Where in the value, as keys and indexes from its root. */
  path: PropertyKey[];
  /** The fault is in an object key, not its value. */
  inKey: boolean;
  fault: string;
}

interface Node {
  value: object;
  key: PropertyKey | undefined;
  parent: Node | undefined;
}

/**
 * A bad string in a parsed value (JSON, YAML, XML as objects), keys included, with where it is.
 * Walks with its own stack and parent links, not recursion or path copies, and keeps only nested
 * objects on the stack: a large or deeply nested request body costs time linear in its size and
 * cannot overflow the call stack.
 */
export function findTextFault(root: unknown): TextFaultAt | undefined {
  if (typeof root === "string") {
    const fault = textFault(root);
    return fault ? { path: [], inKey: false, fault } : undefined;
  }
  if (root === null || typeof root !== "object") return undefined;
  const stack: Node[] = [{ value: root, key: undefined, parent: undefined }];
  for (let node = stack.pop(); node; node = stack.pop()) {
    const children: Iterable<[PropertyKey, unknown]> = Array.isArray(node.value)
      ? node.value.entries()
      : Object.entries(node.value);
    for (const [key, child] of children) {
      const keyFault = typeof key === "string" ? textFault(key) : undefined;
      if (keyFault) return { path: [...pathOf(node), key], inKey: true, fault: keyFault };
      if (typeof child === "string") {
        const fault = textFault(child);
        if (fault) return { path: [...pathOf(node), key], inKey: false, fault };
      } else if (child !== null && typeof child === "object") {
        stack.push({ value: child, key, parent: node });
      }
    }
  }
  return undefined;
}

function pathOf(node: Node): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let n: Node | undefined = node; n?.key !== undefined; n = n.parent) path.push(n.key);
  return path.reverse();
}
