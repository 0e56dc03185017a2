// Serves the example SPA and the built SDK (sdk/packages/*/dist) on a
// loopback origin:  node examples/spa/serve.mjs --port 5173 --issuer http://127.0.0.1:8080 --client-id spa
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SDK = path.resolve(HERE, '..', '..', 'sdk', 'packages');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json' };

/**
 * Starts the server; `config` becomes /config.json, `appSource` (if given)
 * replaces app.js. Answers {url, close}.
 */
export async function serveSpa({ port = 0, config, appSource }) {
  const server = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    let file;
    if (pathname === '/config.json') {
      res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' });
      return res.end(JSON.stringify(config));
    }
    if (pathname === '/app.js' && appSource !== undefined) {
      res.writeHead(200, { 'content-type': TYPES['.js'], 'cache-control': 'no-store' });
      return res.end(appSource);
    }
    const sdk = /^\/sdk\/(core|web)\/([\w./-]+\.js)$/.exec(pathname);
    if (sdk && !sdk[2].includes('..')) file = path.join(SDK, sdk[1], 'dist', sdk[2]);
    else if (pathname === '/app.js') file = path.join(HERE, 'app.js');
    else file = path.join(HERE, 'index.html'); // "/", "/callback" and any other route: the app
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)], 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((r) => {
      server.closeAllConnections?.();
      server.close(r);
    }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '5173' }, issuer: { type: 'string' }, 'client-id': { type: 'string' } } });
  const spa = await serveSpa({ port: Number(values.port), config: { issuer: values.issuer, clientId: values['client-id'] } });
  console.log(`SPA on ${spa.url} (register ${spa.url}/callback as the client's redirect URI)`);
}
