/**
 * The web console (issue 15 item 3): the React app built by Vite into `web/dist`
 * (`npm run build:console`, run by `npm ci` through the `prepare` script) served under `/console/`
 * from the same origin as the API it calls. Nothing is fetched from elsewhere at run time.
 * When the build is missing, `/console/` answers 503 with the command that makes it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where Vite writes the console (web/vite.config.ts). */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** Registers `/console` (redirect) and `/console/*` (the built files; index.html for the app). */
export function consoleRoutes(app: FastifyInstance, dist: string = CONSOLE_DIST): void {
  app.get('/console', async (_req, reply) => reply.redirect('/console/', 302));
  if (!existsSync(`${dist}/index.html`)) {
    app.get('/console/*', async (_req, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The console is not built in this checkout: run `npm run build:console` (npm ci does it), then restart the server.\n'));
    return;
  }
  void app.register(fastifyStatic, {
    root: dist,
    prefix: '/console/',
    // Hashed assets never change under their name; index.html must be revalidated to pick up a new build.
    setHeaders: (reply, path) => reply.header('Cache-Control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable'),
  });
}
