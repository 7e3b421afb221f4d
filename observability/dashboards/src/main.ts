// `npm run dashboards`: (re)writes charts/kinora/files/dashboards/*.json from the sources and removes the files of
// dashboards that no longer exist.
import { fileURLToPath } from 'node:url';
import { writeDashboards } from './index.js';

const outDir = fileURLToPath(new URL('../../../charts/kinora/files/dashboards/', import.meta.url));
for (const line of writeDashboards(outDir)) console.log(`charts/kinora/files/dashboards: ${line}`);
