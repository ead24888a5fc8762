/**
 * Baselines for the FHIR R4 RESTful read / create / update interactions (http.html#read, #create,
 * #update): two servers that answer the same bytes from memory and do nothing else.
 *
 * - bare Node `http`: the machine's ceiling for this request/response shape;
 * - bare Express 5 with the same routes and a raw body parser: the framework's ceiling.
 *
 * GET `/fhir/Patient/:id` answers the stored bytes of that Patient (exactly what the FHIR server
 * returned for it after seeding), 404 when unknown. POST `/fhir/Patient` answers 201 with the request
 * body; PUT `/fhir/Patient/:id` answers 200 with the request body (the statuses the FHIR server uses).
 * Neither parses JSON: they measure HTTP plus routing, not FHIR work.
 */
import http from 'node:http';
import fs from 'node:fs';
import express, { type Request, type Response } from 'express';

export const BASE_PATH = '/fhir';
const CONTENT_TYPE = 'application/fhir+json; charset=utf-8';
const LAST_MODIFIED = new Date(0).toUTCString();
const PATIENT_PATH = /^\/fhir\/Patient\/([A-Za-z0-9\-.]{1,64})$/;

/** The Patient bytes by id, as written by `writeBodies`. */
export type Bodies = ReadonlyMap<string, Buffer>;

export function writeBodies(file: string, bodies: Bodies): void {
  const obj: Record<string, string> = {};
  for (const [id, buf] of bodies) obj[id] = buf.toString('utf8');
  fs.writeFileSync(file, JSON.stringify(obj));
}

export function readBodies(file: string): Bodies {
  const obj = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  return new Map(Object.entries(obj).map(([id, text]) => [id, Buffer.from(text, 'utf8')]));
}

function notFound(): Buffer {
  return Buffer.from(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] }));
}

/** A bare `node:http` server answering the baseline routes. */
export function createNodeBaseline(bodies: Bodies): http.Server {
  const missing = notFound();
  let created = 0;
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'GET') {
      const m = PATIENT_PATH.exec(url);
      const body = m?.[1] === undefined ? undefined : bodies.get(m[1]);
      if (body) {
        res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': body.length, ETag: 'W/"1"', 'Last-Modified': LAST_MODIFIED });
        res.end(body);
      } else {
        res.writeHead(404, { 'Content-Type': CONTENT_TYPE, 'Content-Length': missing.length });
        res.end(missing);
      }
      return;
    }
    const isCreate = req.method === 'POST' && url === `${BASE_PATH}/Patient`;
    const isUpdate = req.method === 'PUT' && PATIENT_PATH.test(url);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!isCreate && !isUpdate) {
        res.writeHead(404, { 'Content-Type': CONTENT_TYPE, 'Content-Length': missing.length });
        res.end(missing);
        return;
      }
      const body = Buffer.concat(chunks);
      const headers: http.OutgoingHttpHeaders = { 'Content-Type': CONTENT_TYPE, 'Content-Length': body.length, ETag: 'W/"1"', 'Last-Modified': LAST_MODIFIED };
      if (isCreate) headers['Location'] = `http://localhost${BASE_PATH}/Patient/bench-${++created}/_history/1`;
      res.writeHead(isCreate ? 201 : 200, headers);
      res.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

/** A bare Express 5 app answering the baseline routes. */
export function createExpressBaseline(bodies: Bodies): http.Server {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  const raw = express.raw({ type: () => true, limit: 10 * 1024 * 1024 });
  const missing = notFound();
  let created = 0;
  const echo = (status: number, req: Request, res: Response): void => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    res.status(status).set({ 'Content-Type': CONTENT_TYPE, ETag: 'W/"1"', 'Last-Modified': LAST_MODIFIED });
    if (status === 201) res.set('Location', `http://localhost${BASE_PATH}/Patient/bench-${++created}/_history/1`);
    res.send(body);
  };
  app.get(`${BASE_PATH}/Patient/:id`, (req: Request, res: Response) => {
    const body = bodies.get(String(req.params['id']));
    res.set('Content-Type', CONTENT_TYPE);
    if (body) res.set({ ETag: 'W/"1"', 'Last-Modified': LAST_MODIFIED }).send(body);
    else res.status(404).send(missing);
  });
  app.post(`${BASE_PATH}/Patient`, raw, (req: Request, res: Response) => echo(201, req, res));
  app.put(`${BASE_PATH}/Patient/:id`, raw, (req: Request, res: Response) => echo(200, req, res));
  app.use((_req: Request, res: Response) => {
    res.status(404).set('Content-Type', CONTENT_TYPE).send(missing);
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  return server;
}

/** Listens on an ephemeral port of 127.0.0.1 and returns the FHIR base URL. */
export function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') reject(new Error('no TCP address'));
      else resolve(`http://127.0.0.1:${addr.port}${BASE_PATH}`);
    });
  });
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
