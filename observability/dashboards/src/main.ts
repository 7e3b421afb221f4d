// `npm run dashboards`: (re)writes charts/kinora/files/dashboards/*.json from the sources and removes the files of
// dashboards that no longer exist.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderDashboards } from './index.js';

const outDir = fileURLToPath(new URL('../../../charts/kinora/files/dashboards/', import.meta.url));
mkdirSync(outDir, { recursive: true });
const files = renderDashboards();
for (const old of readdirSync(outDir)) {
  if (old.endsWith('.json') && !files.has(old)) {
    rmSync(join(outDir, old));
    console.log(`removed ${old}`);
  }
}
for (const [name, text] of files) {
  const file = join(outDir, name);
  const same = existsSync(file) && readFileSync(file, 'utf8') === text;
  if (!same) writeFileSync(file, text);
  console.log(`${same ? 'unchanged' : 'wrote'} charts/kinora/files/dashboards/${name}`);
}
