#!/usr/bin/env node
/*
 * Size check (`npm run check:size`, run in CI): no source file under src/, scripts/ or
 * web/ (the demo's sources and e2e tests) over 400 lines, no function over 120 lines. Small single-topic files
 * and functions that fit on a screen or two are a project rule (DESIGN.md);
 * this makes the rule a check instead of a review comment.
 *
 * Functions are found with the TypeScript compiler's parser (declarations,
 * methods, accessors, constructors, function expressions, arrows); a
 * function's span runs from its first token to its closing brace, nested
 * functions included. Each violation prints as `path:line name N lines`; the
 * exit status is 1 if there is any.
 *
 * Exemption, for generated tables only: a comment containing
 * `check-size: generated table` in a file's top comment exempts the file, and
 * in the comments just before a statement or member exempts the functions in it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 120;
const ROOTS = ['src', 'scripts', 'web/src', 'web/e2e'];
const EXTENSIONS = /\.(ts|mts|js|mjs)$/;
const MARKER = 'check-size: generated table';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every source file under `dir` (relative to the repository root), recursively, sorted. */
function sourceFiles(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true })
    .flatMap((e) => {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory()) return sourceFiles(path);
      return e.isFile() && EXTENSIONS.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
    })
    .sort();
}

/** 1-based line of a position. */
function lineOf(sf, pos) {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}

/** Whether the comments just before `node` carry the exemption marker. */
function marked(sf, node) {
  const ranges = ts.getLeadingCommentRanges(sf.text, node.getFullStart()) ?? [];
  return ranges.some((r) => sf.text.slice(r.pos, r.end).includes(MARKER));
}

/** A readable name for a function-like node: its own, or the variable/property/class it is assigned to. */
function nameOf(sf, node) {
  const named = (n) => (n && n.name && !ts.isComputedPropertyName(n.name) ? n.name.getText(sf) : undefined);
  const own = named(node);
  if (ts.isConstructorDeclaration(node)) return `${named(node.parent) ?? '<class>'}.constructor`;
  if (ts.isMethodDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) {
    const cls = ts.isClassLike(node.parent) ? named(node.parent) : undefined;
    return cls ? `${cls}.${own}` : (own ?? '<method>');
  }
  if (own) return own;
  const p = node.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) return named(p) ?? '<anonymous>';
  if (ts.isCallExpression(p)) return `<callback of ${p.expression.getText(sf).slice(0, 40)}>`;
  return '<anonymous>';
}

/** The violations in one file. */
function check(path) {
  const text = readFileSync(join(root, path), 'utf8');
  const kind = /\.m?js$/.test(path) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, kind);
  const first = sf.statements[0];
  if (first && marked(sf, first)) return [];
  const found = [];
  const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
  if (lines > MAX_FILE_LINES) found.push(`${path}:1 (file) ${lines} lines`);
  const visit = (node) => {
    if (marked(sf, node) && node !== first) return;
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = lineOf(sf, node.getStart(sf));
      const n = lineOf(sf, node.getEnd()) - start + 1;
      if (n > MAX_FUNCTION_LINES) found.push(`${path}:${start} ${nameOf(sf, node)} ${n} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const violations = ROOTS.flatMap(sourceFiles).flatMap(check);
for (const v of violations) console.log(v);
if (violations.length > 0) {
  console.log(`${violations.length} size violation(s): files ≤ ${MAX_FILE_LINES} lines, functions ≤ ${MAX_FUNCTION_LINES} lines (scripts/check-size.mjs)`);
  process.exit(1);
}
console.log(`size check: every file ≤ ${MAX_FILE_LINES} lines, every function ≤ ${MAX_FUNCTION_LINES} lines`);
