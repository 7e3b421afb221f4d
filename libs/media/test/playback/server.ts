// A plain node:http server for the browser tests: the transcoder's output folder under /media/, the players from
// node_modules under /lib/, and the test page at /. Loopback only, GET only, whole files (no Range needed: the
// players fetch whole segments).
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mediaContentType } from '@kinora/media';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '../../../..');

/** The players as published: hls.js' UMD build and dash.js' modern UMD build (globals `Hls` and `dashjs`). */
export const PLAYER_SCRIPTS: Record<string, string> = {
  '/lib/hls.js': join(repoRoot, 'node_modules/hls.js/dist/hls.min.js'),
  '/lib/dash.js': join(repoRoot, 'node_modules/dashjs/dist/modern/umd/dash.all.min.js'),
};
const PAGE = join(here, 'player.html');

export interface PlaybackServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  close(): Promise<void>;
}

export async function startPlaybackServer(mediaRoot: string): Promise<PlaybackServer> {
  const root = mediaRoot;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const send = (status: number, body: string | Buffer, type: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed', 'text/plain');
    let file: string | undefined;
    let type = 'application/octet-stream';
    if (path === '/' || path === '/index.html') {
      file = PAGE;
      type = 'text/html; charset=utf-8';
    } else if (PLAYER_SCRIPTS[path]) {
      file = PLAYER_SCRIPTS[path];
      type = 'text/javascript; charset=utf-8';
    } else if (path.startsWith('/media/')) {
      const candidate = normalize(join(root, path.slice('/media/'.length)));
      if (candidate.startsWith(root + sep)) {
        file = candidate;
        type = mediaContentType(candidate);
      }
    }
    if (!file) return send(404, 'not found', 'text/plain');
    readFile(file).then(
      (body) => send(200, body, type),
      () => send(404, `not found: ${extname(path)}`, 'text/plain'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
