/**
 * `npm run token`: an access token from the built-in authorization server of a running server, for
 * the command line (issue 16, "The first ten minutes"). It performs the flow a browser would —
 * SMART App Launch 2.0.0 app-launch.html, authorization code with RFC 7636 PKCE (S256) — as the
 * development public client: authorize, the login form (with its CSRF token and browser cookie), the
 * patient picker when a practitioner asks for `launch/patient`, then the token exchange at the
 * server's own `/auth/dev-callback` redirect. Only the access token goes to standard output, so
 * `TOKEN=$(npm run -s token)` works; problems go to standard error with exit code 1.
 *
 *   npm run -s token -- [--url http://localhost:8080] [--user dev-practitioner] [--password P]
 *                       [--scope "openid fhirUser user/*.cruds"] [--patient <id>] [--json]
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

const CLIENT_ID = 'dev-public-client';

interface Options {
  origin: string;
  user: string;
  password: string;
  scope: string;
  patient: string | undefined;
  json: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: 'http://localhost:8080' },
      user: { type: 'string', default: 'dev-practitioner' },
      password: { type: 'string' },
      scope: { type: 'string' },
      patient: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const user = values.user ?? 'dev-practitioner';
  const patientUser = user === 'dev-patient';
  return {
    origin: loopback(new URL(values.url ?? 'http://localhost:8080')).origin,
    user,
    password: values.password ?? user,
    scope: values.scope ?? (patientUser ? 'openid fhirUser launch/patient patient/*.cruds' : 'openid fhirUser user/*.cruds'),
    patient: values.patient,
    json: values.json ?? false,
  };
}

/** `localhost` as the server listens by default (HOST=127.0.0.1): Node's fetch may try ::1 only. */
function loopback(url: URL): URL {
  if (url.hostname === 'localhost') url.hostname = '127.0.0.1';
  return url;
}

function hidden(html: string, name: string): string {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html);
  if (!m?.[1]) throw new Error(`the page has no ${name} field: ${pageError(html)}`);
  return m[1];
}

/** The error a server page shows, for a one-line message. */
function pageError(html: string): string {
  const m = /<p class="error"[^>]*>([^<]+)</.exec(html) ?? /<h1>([^<]+)</.exec(html);
  return m?.[1]?.trim() ?? 'unexpected page';
}

function form(values: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(values).toString(), redirect: 'manual' };
}

async function token(o: Options): Promise<Record<string, unknown>> {
  const smart = await fetch(`${o.origin}/fhir/.well-known/smart-configuration`).catch((e: unknown) => {
    throw new Error(`no server at ${o.origin} (${(e as Error).message}); start it with npm start`);
  });
  if (!smart.ok) throw new Error(`${o.origin}/fhir/.well-known/smart-configuration answered ${smart.status}: is SMART on (AUTH_MODE=smart)?`);
  const config = (await smart.json()) as { authorization_endpoint: string; token_endpoint: string; issuer?: string };
  const issuer = new URL(config.authorization_endpoint).pathname.replace(/\/authorize$/, '');
  const redirect = `${new URL(config.authorization_endpoint).origin}${issuer}/dev-callback`;
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(config.authorization_endpoint);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirect,
    scope: o.scope,
    state: randomBytes(8).toString('hex'),
    aud: `${new URL(config.authorization_endpoint).origin}/fhir`,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  // The endpoints the discovery document names are public URLs; the requests go to the given origin.
  const local = (u: string): string => `${o.origin}${new URL(u, o.origin).pathname}${new URL(u, o.origin).search}`;
  const login = await fetch(local(authorize.toString()), { redirect: 'manual' });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const loginPage = await login.text();
  if (login.status !== 200) throw new Error(`authorize answered ${login.status}: ${login.headers.get('location') ?? pageError(loginPage)}`);
  const post = (path: string, values: Record<string, string>): Promise<Response> => fetch(`${o.origin}${issuer}/${path}`, { ...form(values), headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie } });
  let step = await post('login', { tx: hidden(loginPage, 'tx'), csrf: hidden(loginPage, 'csrf'), username: o.user, password: o.password, action: 'login' });
  if (step.status === 200) {
    // The patient picker (a practitioner asked for launch/patient): the given patient, else the first listed.
    const picker = await step.text();
    const choice = o.patient ?? /name="patient" value="([^"]+)"/.exec(picker)?.[1];
    if (choice === undefined) throw new Error(`login did not complete: ${pageError(picker)}`);
    step = await post('pick', { tx: hidden(picker, 'tx'), csrf: hidden(picker, 'csrf'), patient: choice, action: 'pick' });
  }
  const location = step.headers.get('location');
  if (step.status !== 303 || location === null) throw new Error(`login answered ${step.status}: ${pageError(await step.text())}`);
  const code = new URL(location).searchParams.get('code');
  if (code === null) throw new Error(`no code: ${new URL(location).searchParams.get('error_description') ?? location}`);
  const exchange = await fetch(local(config.token_endpoint), form({ grant_type: 'authorization_code', client_id: CLIENT_ID, redirect_uri: redirect, code, code_verifier: verifier }));
  const body = (await exchange.json()) as Record<string, unknown>;
  if (!exchange.ok) throw new Error(`token endpoint answered ${exchange.status}: ${String(body['error_description'] ?? body['error'])}`);
  return body;
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const body = await token(o);
  process.stdout.write(o.json ? `${JSON.stringify(body, null, 2)}\n` : `${String(body['access_token'])}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`npm run token: ${(e as Error).message}\n`);
  process.exit(1);
});
