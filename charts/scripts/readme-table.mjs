#!/usr/bin/env node
// Generates the values table of charts/<chart>/README.md from the `## @section` and `## @param <key> <text>`
// comments of its values.yaml (the defaults are read from the parsed YAML, so the table cannot drift from them).
// The table replaces what lies between the `<!-- values:start -->` and `<!-- values:end -->` markers.
//   node charts/scripts/readme-table.mjs [chart-dir]           rewrite the README
//   node charts/scripts/readme-table.mjs --check [chart-dir]   exit 1 when the README is not current
// Every leaf value must be documented: an undocumented key fails either way.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

const args = process.argv.slice(2);
const check = args.includes('--check');
const chartDir = resolve(args.find((a) => !a.startsWith('--')) ?? join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'kinora'));
const START = '<!-- values:start -->';
const END = '<!-- values:end -->';

const valuesText = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
const values = parse(valuesText);

function lookup(path) {
  let node = values;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || !(part in node)) return { found: false };
    node = node[part];
  }
  return { found: true, value: node };
}

const rows = [];
const documented = new Set();
const problems = [];
for (const line of valuesText.split('\n')) {
  const section = /^\s*## @section (.+)$/.exec(line);
  if (section) {
    rows.push({ section: section[1].trim() });
    continue;
  }
  const param = /^\s*## @param (\S+) (.+)$/.exec(line);
  if (!param) continue;
  const [, key, text] = param;
  const { found, value } = lookup(key);
  if (!found) problems.push(`@param ${key}: no such value`);
  documented.add(key);
  rows.push({ key, text: text.trim(), value });
}

// Leaves (and empty maps/lists) must be covered by a @param of themselves or of an ancestor.
function walk(node, path) {
  if (path && [...documented].some((d) => path === d || path.startsWith(`${d}.`))) return;
  const isMap = node !== null && typeof node === 'object' && !Array.isArray(node);
  if (isMap && Object.keys(node).length > 0) {
    for (const [k, v] of Object.entries(node)) walk(v, path ? `${path}.${k}` : k);
    return;
  }
  problems.push(`${path}: not documented with @param`);
}
walk(values, '');

if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const show = (v) => {
  if (v === '' || v === undefined) return '`""`';
  if (typeof v === 'string') return `\`${cell(v)}\``;
  return `\`${cell(JSON.stringify(v))}\``;
};
let table = '';
let open = false;
for (const row of rows) {
  if ('section' in row) {
    table += `${open ? '\n' : ''}### ${row.section}\n\n| Name | Description | Default |\n|---|---|---|\n`;
    open = true;
    continue;
  }
  table += `| \`${row.key}\` | ${cell(row.text)} | ${show(row.value)} |\n`;
}

const readmePath = join(chartDir, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a < 0 || b < a) {
  process.stderr.write(`${readmePath}: markers ${START} … ${END} not found\n`);
  process.exit(1);
}
const next = `${readme.slice(0, a + START.length)}\n${table}${readme.slice(b)}`;
if (check) {
  if (next !== readme) {
    process.stderr.write(`${readmePath} is out of date: run node charts/scripts/readme-table.mjs\n`);
    process.exit(1);
  }
} else if (next !== readme) {
  writeFileSync(readmePath, next);
  process.stdout.write(`updated ${readmePath}\n`);
}
