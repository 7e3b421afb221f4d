#!/usr/bin/env node
// Prints the Secrets of a development cluster (k8s/dev/*.yaml and the chart's external database and storage
// references) as YAML for `kubectl apply -f -` or Tilt's k8s_yaml(). The random values are made once and kept in
// .cache/dev-secrets.json (git-ignored, mode 0600), so a Tiltfile reload or a re-apply never changes a password a
// running database was initialised with. Nothing secret is committed.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const file = join(root, '.cache', 'dev-secrets.json');
const token = () => randomBytes(18).toString('base64url');

let values = {};
if (existsSync(file)) values = JSON.parse(readFileSync(file, 'utf8'));
let changed = false;
for (const key of ['postgresPassword', 'minioAccessKey', 'minioSecretKey']) {
  if (typeof values[key] !== 'string' || values[key].length < 16) {
    values[key] = token();
    changed = true;
  }
}
if (changed) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(values, null, 2) + '\n', { mode: 0o600 });
}

const databaseUrl = `postgres://kinora:${values.postgresPassword}@postgres:5432/kinora`;
const secret = (name, data) =>
  [
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    `  name: ${name}`,
    '  labels:',
    '    app.kubernetes.io/part-of: kinora-dev',
    'type: Opaque',
    'stringData:',
    ...Object.entries(data).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
  ].join('\n');

process.stdout.write(
  [
    secret('kinora-dev', { 'postgres-password': values.postgresPassword }),
    // postgresql.external.databases.main of k8s/dev/values.yaml: no replica in development.
    secret('kinora-db-main', { url: databaseUrl, 'replica-urls': '' }),
    secret('minio-credentials', { 'access-key-id': values.minioAccessKey, 'secret-access-key': values.minioSecretKey }),
  ].join('\n---\n') + '\n',
);
