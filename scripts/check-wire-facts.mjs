#!/usr/bin/env node
// "Give every wire fact one home" (issue #16): no wire constant or layout offset is defined twice
// in the packages' src/. A fact defined twice drifts: one copy gets fixed, the other does not,
// and two packages disagree about the same bytes. The rules, over every `const NAME = <number>`
// (ALL_CAPS name, a numeric or bigint literal, or an expression of literals only), every member
// of a `const Name = { MEMBER: <number>, ... } as const` table, and, for rules 1 and 3, every
// other definition of such a name (a tuple `[52, 64] as const`, any expression) except an alias
// (`const X = Other.X`, which imports the fact rather than stating it):
//   1. a wire constant (a name with a Linux/OpenAMP/ELF prefix: RSC_, FW_RSC_, VRING_, VIRTIO_,
//      RPMSG_, VHOST_USER_, EI_, PT_, PN_, ...) or a constant a package exports from its public
//      entry is defined at most once in all of packages/*/src, as a constant or as a member of
//      any table; every other user imports it;
//   2. a known layout offset is defined once: two files whose private offsets (OFF_*) agree on
//      two or more name/value pairs describe the same struct twice;
//   3. a struct size (NAME_SIZE / NAME_LEN) is defined in one package only;
//   4. a public fact is not spelled again under a shorter name (ANY for FW_RSC_ADDR_ANY,
//      OFF_STATUS for RSC_ENTRY_FIELDS.VDEV_STATUS, ET_CORE for ElfType.ET_CORE);
//   5. a public table is not copied under shorter keys: a private table of two or more members, each
//      equal in value to a member of one public table in another file whose name ends with
//      the key (PF = { X: 1, W: 2, R: 4 } for ProgramFlag's PF_X, PF_W, PF_R; bigint and number
//      values compare by value).
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

/** `Other.X`, `X`, `T[0]`: a name for a fact defined elsewhere, not a definition. */
function isAlias(node) {
  return ts.isIdentifier(node) || ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node);
}

/** How a non-literal definition prints: a tuple of literals as `[52, 64]`, else its source text. */
function definitionText(node, sf) {
  if (ts.isArrayLiteralExpression(node)) {
    const items = node.elements.map((e) => literalValue(e));
    if (items.every((v) => v !== undefined))
      return `[${items.map((v) => (typeof v === "bigint" ? `${v}n` : String(v))).join(", ")}]`;
  }
  return node.getText(sf).replace(/\s+/g, " ");
}

/** Equal integers, bigint or number (SectionFlag.SHF_WRITE = 0x1n is the fact WRITE = 1). */
const sameNumber = (a, b) =>
  typeof a === typeof b
    ? a === b
    : (typeof a === "bigint" || typeof a === "number") &&
      (typeof b === "bigint" || typeof b === "number") &&
      Number.isInteger(Number(a)) &&
      Number.isInteger(Number(b)) &&
      BigInt(a) === BigInt(b);

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
        if (!/^[A-Z][A-Z0-9_]*$/.test(d.name.text)) continue;
        let value = literalValue(init);
        // A tuple or any other expression still defines a wire fact or a struct size (rules 1
        // and 3); an alias of another binding does not (it imports the fact).
        if (value === undefined && (WIRE_NAME.test(d.name.text) || SIZE_NAME.test(d.name.text)) && !isAlias(init))
          value = definitionText(init, sf);
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
  `${c.file}:${c.line} (${c.name} = ${typeof c.value === "bigint" ? `${c.value}n` : String(c.value)}${c.exported ? ", exported" : ""})`;
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
  const member = (t) => ({ ...t, name: `${t.table}.${t.name}` });
  for (const c of all) {
    // A wire name a public table holds is defined there: a constant of that name anywhere else
    // is a second definition, whatever its value (a different value is a contradiction).
    const t = tableHome.get(c.name);
    if (t !== undefined && t.file !== c.file)
      found.push({
        keys: [`${c.name} ${c.file}`],
        message: `${c.name} repeats ${t.table}.${t.name}: ${show(member(t))}; ${show(c)}`,
      });
  }
  // A wire-named member in two tables (ProgramFlag.PF_X and Flags.PF_X).
  const membersByName = new Map();
  for (const t of tables)
    if (WIRE_NAME.test(t.name)) membersByName.set(t.name, [...(membersByName.get(t.name) ?? []), t]);
  for (const [name, sites] of membersByName) {
    if (sites.length < 2) continue;
    const home = sites.find((t) => tableHome.get(name) === t) ?? sites[0];
    const copies = sites.filter((t) => t !== home);
    found.push({
      keys: copies.map((t) => `${t.table}.${name} ${t.file}`),
      message: `${name} is a member of ${sites.length} tables: ${[home, ...copies].map((t) => show(member(t))).join("; ")}`,
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
  // Rule 5: a public table copied under shorter keys (PF = { X, W, R } for ProgramFlag).
  const tablesByName = new Map(); // "file table" -> members
  for (const t of tables) {
    const k = `${t.file} ${t.table}`;
    tablesByName.set(k, [...(tablesByName.get(k) ?? []), t]);
  }
  const publicTablesWhole = [...tablesByName.values()].filter(
    (m) => m[0].exported && publicTableNames.has(`${pkgOf(m[0])} ${m[0].table}`),
  );
  for (const members of tablesByName.values()) {
    // A public table is the home of its own protocol's facts, even where small values coincide
    // (rpmsg's AmpClockType and virtual-io's VioFrameKind both have REQUEST 1, RESPONSE 2).
    if (members.length < 2 || publicTablesWhole.some((p) => p[0] === members[0])) continue;
    for (const home of publicTablesWhole) {
      if (home[0].file === members[0].file) continue;
      const pairs = members.map((m) => [m, home.find((h) => sameNumber(h.value, m.value) && isTail(h.name, m.name))]);
      if (!pairs.every(([, h]) => h !== undefined)) continue;
      const t = members[0];
      found.push({
        keys: [`${t.table} ${t.file}`],
        message: `${t.table} (${t.file}:${t.line}) copies ${home[0].table} (${home[0].file}): ${pairs.map(([m, h]) => `${m.name} = ${h.name}`).join(", ")}`,
      });
      break;
    }
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
