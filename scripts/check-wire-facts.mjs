#!/usr/bin/env node
// "Give every wire fact one home" (issue #16): no wire constant or layout offset is defined twice
// in the packages' src/. A fact defined twice drifts: one copy gets fixed, the other does not,
// and two packages disagree about the same bytes. The rules, over every `const NAME = <number>`
// (ALL_CAPS name, a numeric or bigint literal, or an expression of literals only):
//   1. a wire constant (a name with a Linux/OpenAMP/ELF prefix: RSC_, FW_RSC_, VRING_, VIRTIO_,
//      RPMSG_, VHOST_USER_, EI_, PT_, PN_, ...) or a constant a package exports from its public
//      entry is defined at most once in all of packages/*/src; every other user imports it;
//   2. a known layout offset is defined once: two files whose private offsets (OFF_*) agree on
//      two or more name/value pairs describe the same struct twice;
//   3. a struct size (NAME_SIZE / NAME_LEN) is defined in one package only;
//   4. a public fact is not spelled again under a shorter name (ANY for FW_RSC_ADDR_ANY,
//      OFF_STATUS for RSC_ENTRY_FIELDS.VDEV_STATUS, ET_CORE for ElfType.ET_CORE).
// Each duplicate is printed with the file:line of every definition.
// A duplicate that its owner is removing is listed in PENDING below: reported, not failed, and
// the check fails once it is gone from the tree, so the list only shrinks.
//
//   node scripts/check-wire-facts.mjs     (also run by scripts/check-layers.mjs)
import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

const root = new URL("..", import.meta.url).pathname;

/** Prefixes of names that are facts of a wire format (Linux, OpenAMP, virtio, ELF, vhost-user). */
const WIRE_NAME =
  /^(RSC_|FW_RSC_|VRING_|VIRTIO_|VIRTQ_|RPMSG_|VHOST_USER_|EI_|ELF|ET_|EM_|EV_|PT_|PF_|PN_|SHT_|SHF_|SHN_|STT_|STB_|NT_)/;
const OFFSET_NAME = /^OFF_[A-Z0-9_]+$/;
const SIZE_NAME = /^[A-Z][A-Z0-9_]*_(SIZE|LEN)$/;
/** Public `as const` tables of field offsets. */
const LAYOUT_TABLE = /(FIELDS|OFFSETS|Offsets)$/;

/**
 * Duplicates known today whose removal belongs to another change (the owner's files), as
 * "NAME path" (the copy that goes; path relative to the repository). Keep it short.
 */
export const PENDING = new Map([]);

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir).sort()) {
    if (e === "node_modules" || e === "dist") continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (e.endsWith(".ts") && !e.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** The value of an expression made of numeric literals only (`0x10`, `1 << 3`, `-1`, `4n`), else undefined. */
function literalValue(node) {
  if (
    ts.isParenthesizedExpression(node) ||
    ts.isAsExpression(node) ||
    ts.isSatisfiesExpression(node) ||
    ts.isTypeAssertionExpression(node)
  )
    return literalValue(node.expression);
  if (ts.isNumericLiteral(node)) return Number(node.text.replace(/_/g, ""));
  if (ts.isBigIntLiteral(node)) return BigInt(node.text.slice(0, -1).replace(/_/g, ""));
  if (ts.isPrefixUnaryExpression(node)) {
    const v = literalValue(node.operand);
    if (v === undefined) return undefined;
    if (node.operator === ts.SyntaxKind.MinusToken) return -v;
    if (node.operator === ts.SyntaxKind.TildeToken) return ~v;
    if (node.operator === ts.SyntaxKind.PlusToken) return v;
    return undefined;
  }
  if (ts.isBinaryExpression(node)) {
    const a = literalValue(node.left),
      b = literalValue(node.right);
    if (a === undefined || b === undefined || typeof a !== typeof b) return undefined;
    switch (node.operatorToken.kind) {
      case ts.SyntaxKind.PlusToken:
        return a + b;
      case ts.SyntaxKind.MinusToken:
        return a - b;
      case ts.SyntaxKind.AsteriskToken:
        return a * b;
      case ts.SyntaxKind.LessThanLessThanToken:
        return a << b;
      case ts.SyntaxKind.GreaterThanGreaterThanGreaterThanToken:
        return a >>> b;
      case ts.SyntaxKind.BarToken:
        return a | b;
      case ts.SyntaxKind.AmpersandToken:
        return a & b;
      default:
        return undefined;
    }
  }
  return undefined;
}

/**
 * Every `const NAME = <literal>` of a file: { name, value, file, line, exported }, and every
 * member of a `const NAME = { MEMBER: <literal>, ... } as const` table as { table, name, ... }.
 */
function constantsOf(file, tables = []) {
  const text = readFileSync(file, "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out = [];
  const visit = (node) => {
    if (ts.isVariableStatement(node) && (node.declarationList.flags & ts.NodeFlags.Const) !== 0) {
      const exported = (node.modifiers ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
      for (const d of node.declarationList.declarations) {
        if (!ts.isIdentifier(d.name) || !/^[A-Z][A-Za-z0-9_]*$/.test(d.name.text) || d.initializer === undefined)
          continue;
        let init = d.initializer;
        while (ts.isAsExpression(init) || ts.isSatisfiesExpression(init) || ts.isParenthesizedExpression(init))
          init = init.expression;
        if (ts.isObjectLiteralExpression(init)) {
          for (const p of init.properties) {
            if (!ts.isPropertyAssignment(p) || !ts.isIdentifier(p.name) || !/^[A-Z][A-Z0-9_]*$/.test(p.name.text))
              continue;
            const value = literalValue(p.initializer);
            if (value === undefined) continue;
            const line = sf.getLineAndCharacterOfPosition(p.getStart(sf)).line + 1;
            tables.push({ table: d.name.text, name: p.name.text, value, file: relative(root, file), line, exported });
          }
          continue;
        }
        const value = /^[A-Z][A-Z0-9_]*$/.test(d.name.text) ? literalValue(init) : undefined;
        if (value === undefined) continue;
        const line = sf.getLineAndCharacterOfPosition(d.getStart(sf)).line + 1;
        out.push({ name: d.name.text, value, file: relative(root, file), line, exported });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Names a package exports from its public entries (every "@amp/source" file of its exports map). */
function publicNames(pkgDir) {
  const names = new Set();
  const pj = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  const entries = Object.values(pj.exports ?? {})
    .map((c) => (typeof c === "object" && c !== null ? c["@amp/source"] : undefined))
    .filter(Boolean);
  for (const entry of entries) {
    const file = join(pkgDir, entry);
    if (!existsSync(file)) continue;
    for (const m of readFileSync(file, "utf8").matchAll(/export\s*(?:type\s*)?\{([^}]*)\}/g)) {
      for (const spec of (m[1] ?? "").split(",")) {
        // Both sides of `X as Y`: a table is found under the name it is declared with.
        for (const name of spec
          .trim()
          .replace(/^type\s+/, "")
          .split(/\s+as\s+/))
          if (name.trim()) names.add(name.trim());
      }
    }
  }
  return names;
}

const show = (c) =>
  `${c.file}:${c.line} (${c.name} = ${typeof c.value === "bigint" ? `${c.value}n` : c.value}${c.exported ? ", exported" : ""})`;
const pkgOf = (c) => c.file.split("/")[1];

/** Every duplicate as `{ key, message, sites }`; `key` is "NAME path" of each copy but the first. */
export function wireFactDuplicates() {
  const pkgRoot = join(root, "packages");
  const all = [];
  const tables = [];
  const exportedByPackage = new Map();
  const publicTableNames = new Set(); // "package name" of everything a public entry exports
  for (const name of readdirSync(pkgRoot).sort()) {
    const dir = join(pkgRoot, name);
    if (!existsSync(join(dir, "package.json"))) continue;
    exportedByPackage.set(name, publicNames(dir));
    for (const f of walk(join(dir, "src"))) all.push(...constantsOf(f, tables));
    for (const n of exportedByPackage.get(name)) publicTableNames.add(`${name} ${n}`);
  }
  const isPublic = (c) => c.exported && (exportedByPackage.get(pkgOf(c))?.has(c.name) ?? false);
  const found = [];

  // Rule 1: wire-prefixed or public constants, once in the whole tree.
  const byName = new Map();
  for (const c of all) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  // Members of public `as const` tables (ElfType.ET_CORE) are homes too.
  const tableHome = new Map();
  for (const t of tables)
    if (t.exported && publicTableNames.has(`${pkgOf(t)} ${t.table}`) && WIRE_NAME.test(t.name))
      tableHome.set(t.name, t);
  for (const c of all) {
    const t = tableHome.get(c.name);
    if (t !== undefined && t.value === c.value && t.file !== c.file)
      found.push({
        keys: [`${c.name} ${c.file}`],
        message: `${c.name} repeats ${t.table}.${t.name}: ${show({ ...t, name: `${t.table}.${t.name}` })}; ${show(c)}`,
      });
  }
  for (const [name, sites] of byName) {
    if (sites.length < 2 || tableHome.has(name)) continue;
    if (!WIRE_NAME.test(name) && !sites.some(isPublic)) continue;
    // The public definition (else the first) is the home; every other site is a copy.
    const home = sites.find(isPublic) ?? sites[0];
    const copies = sites.filter((s) => s !== home);
    found.push({
      keys: copies.map((s) => `${name} ${s.file}`),
      message: `${name} is defined ${sites.length} times: ${[home, ...copies].map(show).join("; ")}`,
    });
  }

  // Rule 2: the same private struct offsets in two files.
  const offsetsByFile = new Map();
  for (const c of all)
    if (OFFSET_NAME.test(c.name)) offsetsByFile.set(c.file, [...(offsetsByFile.get(c.file) ?? []), c]);
  const files = [...offsetsByFile.keys()].sort();
  for (let i = 0; i < files.length; i++) {
    for (let j = i + 1; j < files.length; j++) {
      const a = offsetsByFile.get(files[i]),
        b = offsetsByFile.get(files[j]);
      const same = a.filter((x) => b.some((y) => y.name === x.name && y.value === x.value));
      if (same.length < 2) continue;
      const copies = same.map((x) => b.find((y) => y.name === x.name));
      found.push({
        keys: copies.map((s) => `${s.name} ${s.file}`),
        message: `one layout, two definitions: ${same.map((x) => x.name).join(", ")} in ${files[i]} and ${files[j]}: ${[...same, ...copies].map(show).join("; ")}`,
      });
    }
  }

  // Rule 3: a struct size spelled in two packages (within one package a size may be private).
  for (const [name, sites] of byName) {
    if (!SIZE_NAME.test(name) || WIRE_NAME.test(name) || sites.some(isPublic)) continue; // rule 1 has those
    const pkgs = new Set(sites.map(pkgOf));
    if (pkgs.size < 2) continue;
    const copies = sites.slice(1);
    found.push({
      keys: copies.map((s) => `${name} ${s.file}`),
      message: `${name} is defined in ${pkgs.size} packages: ${sites.map(show).join("; ")}`,
    });
  }
  // Rule 4: a public fact spelled again under a shorter name.
  //  a. a file repeats two or more members of a public layout table (RSC_ENTRY_FIELDS,
  //     RpmsgHdrOffsets): OFF_DFEATURES = 12 and OFF_STATUS = 24 for VDEV_DFEATURES, VDEV_STATUS;
  //  b. a wire constant under its tail: ANY = 0xffffffff for FW_RSC_ADDR_ANY, VRING_SIZE = 20 for
  //     FW_RSC_VDEV_VRING_SIZE (offsets, OFF_*, only count as a group, in a).
  const tail = (c) => c.name.replace(/^OFF_/, "");
  const isTail = (long, short) => long === short || long.endsWith(`_${short}`);
  const publicTables = tables.filter(
    (t) => t.exported && LAYOUT_TABLE.test(t.table) && publicTableNames.has(`${pkgOf(t)} ${t.table}`),
  );
  const byFile = new Map();
  for (const c of all) if (!isPublic(c)) byFile.set(c.file, [...(byFile.get(c.file) ?? []), c]);
  for (const [file, consts] of byFile) {
    const perTable = new Map();
    for (const c of consts) {
      if (tableHome.get(c.name)?.value === c.value) continue; // reported above, by name
      const m = publicTables.find((t) => t.file !== file && t.value === c.value && isTail(t.name, tail(c)));
      if (m !== undefined) perTable.set(m.table, [...(perTable.get(m.table) ?? []), [c, m]]);
    }
    for (const [table, pairs] of perTable) {
      if (pairs.length < 2) continue;
      found.push({
        keys: pairs.map(([c]) => `${c.name} ${c.file}`),
        message: `${file} repeats ${pairs.length} fields of ${table} (${pairs[0][1].file}): ${pairs.map(([c, m]) => `${show(c)} = ${table}.${m.name}`).join("; ")}`,
      });
    }
  }
  const wireHomes = all.filter((c) => isPublic(c) && WIRE_NAME.test(c.name));
  for (const c of all) {
    // One-word tails are too common to mean one fact (VERSION, LEN), except the all-ones sentinel.
    if (isPublic(c) || OFFSET_NAME.test(c.name) || (!c.name.includes("_") && c.name !== "ANY")) continue;
    const home = wireHomes.find(
      (h) => h.file !== c.file && h.value === c.value && h.name !== c.name && isTail(h.name, c.name),
    );
    if (home !== undefined)
      found.push({
        keys: [`${c.name} ${c.file}`],
        message: `${c.name} repeats ${home.name}: ${show(home)}; ${show(c)}`,
      });
  }
  return found;
}

/** Problems as sentences (failures), and notes about pending duplicates. */
export function wireFactProblems() {
  const problems = [];
  const notes = [];
  const seen = new Set();
  for (const d of wireFactDuplicates()) {
    d.keys.forEach((k) => seen.add(k));
    const pending = d.keys.length > 0 && d.keys.every((k) => PENDING.has(k));
    (pending ? notes : problems).push(
      `${d.message}${pending ? ` [pending: ${d.keys.map((k) => PENDING.get(k)).join("; ")}]` : ""}`,
    );
  }
  for (const k of PENDING.keys())
    if (!seen.has(k))
      problems.push(
        `PENDING in scripts/check-wire-facts.mjs lists "${k}", which is no longer a duplicate: remove it from the list`,
      );
  return { problems, notes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { problems, notes } = wireFactProblems();
  for (const n of notes) console.log(`  (pending) ${n}`);
  if (problems.length) {
    console.error(
      "Wire facts defined twice (give each one home and import it):\n" + problems.map((p) => "  - " + p).join("\n"),
    );
    process.exit(1);
  }
  console.log(`wire facts: ok${notes.length ? ` (${notes.length} pending)` : ""}`);
}
