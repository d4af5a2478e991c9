/**
 * What makes text acceptable to pscsd: well-formed Unicode (no lone UTF-16 surrogate) and no NUL.
 * Every boundary (HTTP, CLI, config, camera answers) asks textFault() of each string it takes in,
 * so the catalog, the audit chain and the logs only ever see text that reads back as it was written.
 */

/** Why a string is refused, or undefined when it is acceptable. */
export function textFault(s: string): string | undefined {
  if (!s.isWellFormed()) {
    const at = firstLoneSurrogate(s);
    return `not well-formed Unicode (a lone UTF-16 surrogate at character ${at})`;
  }
  const nul = s.indexOf("\0");
  if (nul >= 0) return `contains a NUL character (at character ${nul})`;
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
  value: unknown;
  key: PropertyKey | undefined;
  parent: Node | undefined;
}

/**
 * The first unacceptable string in a parsed value (JSON, YAML, XML as objects), keys included, in
 * document order. Walks with its own stack and parent links, not recursion or path copies: a deeply
 * nested request body costs time linear in its size and cannot overflow the call stack.
 */
export function findTextFault(root: unknown): TextFaultAt | undefined {
  const stack: Node[] = [{ value: root, key: undefined, parent: undefined }];
  const seen = new Set<object>();
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (typeof node.key === "string") {
      const fault = textFault(node.key);
      if (fault) return { path: pathOf(node), inKey: true, fault };
    }
    const value = node.value;
    if (typeof value === "string") {
      const fault = textFault(value);
      if (fault) return { path: pathOf(node), inKey: false, fault };
      continue;
    }
    if (value === null || typeof value !== "object" || seen.has(value)) continue;
    seen.add(value);
    const children: Node[] = Array.isArray(value)
      ? value.map((v, i) => ({ value: v, key: i, parent: node }))
      : Object.entries(value).map(([k, v]) => ({ value: v, key: k, parent: node }));
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as Node);
  }
  return undefined;
}

function pathOf(node: Node): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let n: Node | undefined = node; n?.key !== undefined; n = n.parent) path.push(n.key);
  return path.reverse();
}
