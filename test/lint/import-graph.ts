// The folder-level import graph of src/: which top-level folder imports which, and whether only
// types cross an edge; its cycles; and the imports the table of eslint.config.js does not allow.
// Used by the boundaries test, and runnable on its own to print the graph (--via: with the imports):
//   node test/lint/import-graph.ts [--via]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

/** One import of one file: the module text and whether it brings in types only. */
export interface ImportRef {
  specifier: string;
  typeOnly: boolean;
}

/** One import that crosses from one folder of src to another. */
export interface CrossImport {
  /** The importing file, relative to the repository root. */
  file: string;
  /** The imported file, relative to the repository root. */
  target: string;
  /** The imported file's path inside its folder (`src/callbacks/center.ts` → `center.ts`). */
  targetInFolder: string;
  typeOnly: boolean;
}

/** An edge between two folders of src, with the imports that make it. */
export interface FolderEdge {
  from: string;
  to: string;
  /** True when every import behind this edge is type-only (erased before running). */
  typeOnly: boolean;
  imports: CrossImport[];
}

/** A row of the import table (IMPORT_TABLE in eslint.config.js). */
export interface TableRow {
  pure: boolean;
  /** Folders (`engine`), single files of a folder (`callbacks/telephony-port.ts`) or `*`. */
  may: readonly string[];
  /** Folders it may import types from only. */
  types?: readonly string[];
}

/** The import table: one row per folder of src. */
export type ImportTable = Readonly<Record<string, TableRow>>;

/** The repository root (two folders above this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every `.ts` file under `dir`, recursively, sorted; tests (`*.test.ts`) left out unless asked. */
export function sourceFiles(dir: string, includeTests = false): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path, includeTests));
    else if (entry.name.endsWith('.ts') && (includeTests || !entry.name.endsWith('.test.ts'))) out.push(path);
  }
  return out.sort();
}

/**
 * The imports of one TypeScript source: `import … from`, `export … from`, side-effect imports,
 * `import('…')` in types and dynamic `import('…')` calls. An import is type-only when it is written
 * `import type`/`export type`, when every named binding is marked `type`, or when it is an
 * `import('…')` type.
 */
export function importsOf(fileName: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const refs: ImportRef[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      let typeOnly = false;
      if (clause) {
        if (clause.isTypeOnly) typeOnly = true;
        else if (!clause.name && clause.namedBindings && ts.isNamedImports(clause.namedBindings)) {
          const elements = clause.namedBindings.elements;
          typeOnly = elements.length > 0 && elements.every((e) => e.isTypeOnly);
        }
      }
      refs.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      let typeOnly = node.isTypeOnly;
      if (!typeOnly && node.exportClause && ts.isNamedExports(node.exportClause)) {
        const elements = node.exportClause.elements;
        typeOnly = elements.length > 0 && elements.every((e) => e.isTypeOnly);
      }
      refs.push({ specifier: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) refs.push({ specifier: arg.literal.text, typeOnly: true });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) refs.push({ specifier: arg.text, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return refs;
}

/** The top-level folder of `src` a path lies in (`src/engine/x.ts` → `engine`), or null outside src. */
export function folderOf(path: string, srcDir: string): string | null {
  const rel = relative(srcDir, path);
  if (rel.startsWith('..') || rel === '') return null;
  const parts = rel.split(sep);
  return parts.length > 1 ? parts[0]! : null;
}

/**
 * The folder graph of `srcDir` (default: the repository's src): one edge per ordered pair of
 * distinct folders with at least one relative import between their files. Test files are left out.
 */
export function folderGraph(srcDir: string = join(REPO_ROOT, 'src')): FolderEdge[] {
  const edges = new Map<string, FolderEdge>();
  for (const file of sourceFiles(srcDir)) {
    const from = folderOf(file, srcDir);
    if (from === null) continue;
    for (const ref of importsOf(file, readFileSync(file, 'utf8'))) {
      if (!ref.specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), ref.specifier);
      const to = folderOf(target, srcDir);
      if (to === null || to === from) continue;
      const key = `${from}→${to}`;
      const edge = edges.get(key) ?? { from, to, typeOnly: true, imports: [] };
      edge.typeOnly &&= ref.typeOnly;
      const targetInFolder = relative(join(srcDir, to), target).split(sep).join('/');
      edge.imports.push({ file: relative(REPO_ROOT, file), target: relative(REPO_ROOT, target), targetInFolder, typeOnly: ref.typeOnly });
      edges.set(key, edge);
    }
  }
  return [...edges.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

/** The cycles of a folder graph (strongly connected components with more than one folder). */
export function cyclesOf(edges: readonly FolderEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, []);
    if (!next.has(e.to)) next.set(e.to, []);
    next.get(e.from)!.push(e.to);
  }
  // Tarjan's algorithm; the graph has a dozen nodes, so recursion depth is no concern.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) connect(v);
  return components;
}

/**
 * The imports of `edges` that `table` does not allow, as messages (`src/a/x.ts → src/b/y.ts: a may
 * not import b`), plus one message per folder without a row. An import is allowed when its row
 * says `*`, names the target's folder, names the target file itself, or names the folder under
 * `types` and the import is type-only.
 */
export function violations(edges: readonly FolderEdge[], table: ImportTable): string[] {
  const out: string[] = [];
  const folders = new Set(edges.flatMap((e) => [e.from, e.to]));
  for (const f of [...folders].sort()) if (table[f] === undefined) out.push(`src/${f} has no row in the import table`);
  for (const e of edges) {
    const row = table[e.from];
    if (row === undefined) continue;
    for (const i of e.imports) {
      const ok =
        row.may.includes('*') ||
        row.may.includes(e.to) ||
        row.may.includes(`${e.to}/${i.targetInFolder}`) ||
        (i.typeOnly && (row.types ?? []).includes(e.to));
      if (!ok) out.push(`${i.file} → ${i.target}${i.typeOnly ? ' (type-only)' : ''}: ${e.from} may not import ${e.to}${(row.types ?? []).includes(e.to) ? ' except types' : ''}`);
    }
  }
  return out;
}

/** The import table of eslint.config.js (loaded at run time: the config is plain JavaScript). */
export async function loadImportTable(): Promise<{ table: ImportTable; maxDepth: number }> {
  const url = pathToFileURL(join(REPO_ROOT, 'eslint.config.js')).href;
  const config = (await import(url)) as { IMPORT_TABLE: ImportTable; MAX_DEPTH: number };
  return { table: config.IMPORT_TABLE, maxDepth: config.MAX_DEPTH };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const edges = folderGraph();
  for (const e of edges) {
    console.log(`${e.from} → ${e.to}${e.typeOnly ? '  (types only)' : ''}`);
    if (process.argv.includes('--via')) for (const i of e.imports) console.log(`    ${i.file} → ${i.target}${i.typeOnly ? ' (type)' : ''}`);
  }
  console.log('cycles:', JSON.stringify(cyclesOf(edges)));
  const { table } = await loadImportTable();
  console.log('not in the table:', violations(edges, table));
}
