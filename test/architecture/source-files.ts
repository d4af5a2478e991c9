import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * The product's TypeScript sources as the architecture tests read them: file lists, the modules
 * each file imports, and the string literals it holds, taken from the syntax tree (so an import
 * written in a comment or a string is not one, and one split over lines is).
 */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Every .ts file under the given top-level folders, as repository paths with '/'. */
export function sourceFiles(folders: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = posix.join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(path);
    }
  };
  for (const f of folders) walk(f);
  return out.sort();
}

export function parse(path: string, text: string = readFileSync(join(ROOT, path), "utf8")): ts.SourceFile {
  return ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** A repository path with '/', from an absolute one. */
export const repoPath = (abs: string): string => relative(ROOT, abs).split(/[\\/]/).join("/");

/**
 * The sources under `folder` that tsconfig.json compiles, type-checked as it checks them (so a name
 * resolves to its declaration through re-exports, namespaces and `import()` types), with `extra`
 * made-up files (repository path → text) among them.
 */
export function program(folder: string, extra: Record<string, string> = {}): ts.Program {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.json"), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  });
  if (!config) throw new Error("tsconfig.json could not be read");
  const made = new Map(Object.entries(extra).map(([path, text]) => [join(ROOT, path), text]));
  const host = ts.createCompilerHost(config.options, true);
  const { fileExists, readFile } = host;
  host.fileExists = (f) => made.has(f) || fileExists(f);
  host.readFile = (f) => made.get(f) ?? readFile(f);
  const roots = config.fileNames.filter((f) => repoPath(f).startsWith(`${folder}/`));
  return ts.createProgram([...roots, ...made.keys()], config.options, host);
}

/** Stands for an `import()` whose module is computed at run time: no rule can be checked on it. */
export const COMPUTED = "<computed import()>";

/** Every module the file names: `import`, `export … from`, `import()`, `import("…")` types, `require`-style `import =`. */
export function importsOf(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  const literal = (n: ts.Node | undefined): void => {
    out.push(n && ts.isStringLiteralLike(n) ? n.text : COMPUTED);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) || (ts.isExportDeclaration(n) && n.moduleSpecifier))
      literal(n.moduleSpecifier);
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword)
      literal(n.arguments[0]);
    else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument)) literal(n.argument.literal);
    else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference))
      literal(n.moduleReference.expression);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/**
 * The repository path a relative specifier names (`../src/log/logger.js` from `sim/main.ts` is
 * `src/log/logger.ts`); undefined for a package or a Node built-in.
 */
export function resolveImport(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const path = posix.normalize(posix.join(posix.dirname(file), specifier));
  return path.endsWith(".js") ? `${path.slice(0, -3)}.ts` : path;
}

/** A string literal or template in a source file: its text (a template's substitutions as `?`) and line. */
export interface SourceString {
  text: string;
  line: number;
  /** The method it is passed to, when it is a call's argument (`prepare`, `exec`, `pragma`, …). */
  callee?: string;
}

export function stringsOf(sf: ts.SourceFile): SourceString[] {
  const out: SourceString[] = [];
  const add = (n: ts.Node, text: string): void => {
    const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
    // A literal joined into an argument (`prepare(sql + " LIMIT 1")`) is that argument's text too.
    let arg: ts.Node = n;
    while (
      ts.isBinaryExpression(arg.parent) ||
      ts.isParenthesizedExpression(arg.parent) ||
      ts.isConditionalExpression(arg.parent)
    )
      arg = arg.parent;
    const call = arg.parent;
    const callee =
      ts.isCallExpression(call) && call.arguments.includes(arg as ts.Expression)
        ? ts.isPropertyAccessExpression(call.expression)
          ? call.expression.name.text
          : call.expression.getText(sf)
        : undefined;
    out.push(callee === undefined ? { text, line } : { text, line, callee });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) add(n, n.text);
    else if (ts.isTemplateExpression(n)) {
      add(n, n.head.text + n.templateSpans.map((s) => `?${s.literal.text}`).join(""));
    }
    // A module specifier is a path, not a value of the program.
    if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) return;
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}
