/**
 * Local user registry of the built-in authorization server (SMART App Launch 2.0.0 app-launch.html
 * "fhirUser": the user who logs in is a FHIR resource such as `Practitioner/123` or `Patient/123`).
 *
 * Users are `{username, fhirUser, password}` where `password` is an scrypt hash
 * (`scrypt$N$r$p$salt$hash`, base64url parts, RFC 7914 via node:crypto). They are kept in
 * `DATA_DIR/users.json` (0600), created on first use with two development users — `dev-practitioner`
 * (fhirUser `Practitioner/dev-practitioner`) and `dev-patient` (fhirUser `Patient/9999999972`, a
 * test-range NHS Number), whose passwords equal their user names: a server meant for local use and
 * testing. Their FHIR resources are created at start-up when absent (src/dev-records.ts). Without a
 * data directory the registry lives in memory with the same two users (and nothing is seeded).
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface LocalUser {
  username: string;
  /** Relative reference of the user's FHIR resource (`Practitioner/123`, `Patient/123`). */
  fhirUser: string;
  /** scrypt hash (see hashPassword). */
  password: string;
}

export const USERS_FILE = 'users.json';
/**
 * The development patient's id: a valid NHS Number of the test range (999 000 0000 - 999 999 9999,
 * never issued to a real person), so that it is a PDS-style record under PATIENT_ID_POLICY=nhs-number.
 */
export const DEV_PATIENT_ID = '9999999972';
export const DEV_USERS: ReadonlyArray<{ username: string; fhirUser: string; password: string }> = [
  { username: 'dev-practitioner', fhirUser: 'Practitioner/dev-practitioner', password: 'dev-practitioner' },
  { username: 'dev-patient', fhirUser: `Patient/${DEV_PATIENT_ID}`, password: 'dev-patient' },
];

const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;
const FHIR_USER_RE = /^(Practitioner|PractitionerRole|Patient|RelatedPerson|Person)\/[A-Za-z0-9\-.]{1,64}$/;

/** An scrypt hash of a password with a random salt: `scrypt$N$r$p$salt$hash`. */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, KEYLEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Whether `password` matches the hash (constant-time comparison; false for a malformed hash). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((x) => Number.isInteger(x) && x > 0) || n > 1 << 20) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (expected.length === 0) return false;
  const actual = await new Promise<Buffer>((resolve, reject) => {
    scrypt(password, salt, expected.length, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
  return timingSafeEqual(actual, expected);
}

export interface UserRegistry {
  /** The user when the password matches, else undefined (same work whether or not the user exists). */
  authenticate(username: string, password: string): Promise<LocalUser | undefined>;
  get(username: string): LocalUser | undefined;
}

function devUsers(): LocalUser[] {
  return DEV_USERS.map((u) => ({ username: u.username, fhirUser: u.fhirUser, password: hashPassword(u.password) }));
}

export function userRegistryOf(users: readonly LocalUser[]): UserRegistry {
  const byName = new Map(users.map((u) => [u.username, u]));
  // Compared against when the user does not exist, so a wrong user name costs as much as a wrong password.
  const decoy = hashPassword(randomBytes(16).toString('hex'));
  return {
    get: (username) => byName.get(username),
    async authenticate(username, password) {
      const user = byName.get(username);
      const ok = await verifyPassword(password, user?.password ?? decoy);
      return ok && user ? user : undefined;
    },
  };
}

function parseUsers(raw: unknown, file: string): LocalUser[] {
  const list = (raw as { users?: unknown }).users;
  if (!Array.isArray(list)) throw new Error(`${file}: expected {"users": [{username, fhirUser, password}]}`);
  return list.map((u: unknown, i) => {
    const o = (typeof u === 'object' && u !== null ? u : {}) as Record<string, unknown>;
    const { username, fhirUser, password } = o;
    if (typeof username !== 'string' || username === '') throw new Error(`${file} user ${i}: username must be a non-empty string`);
    if (typeof fhirUser !== 'string' || !FHIR_USER_RE.test(fhirUser)) throw new Error(`${file} user ${i}: fhirUser must be a reference such as Practitioner/123 or Patient/123`);
    if (typeof password !== 'string' || !password.startsWith('scrypt$')) throw new Error(`${file} user ${i}: password must be an scrypt hash (see docs/smart.md)`);
    return { username, fhirUser, password };
  });
}

/**
 * The `fhirUser` references of the development users that `dataDir/users.json` has (or will have,
 * when it does not exist yet) with their default `fhirUser`: the resources to seed. No password is
 * hashed. An unreadable file: none.
 */
export function devUserReferences(dataDir: string): string[] {
  const file = path.join(dataDir, USERS_FILE);
  if (!fs.existsSync(file)) return DEV_USERS.map((u) => u.fhirUser);
  try {
    const list = (JSON.parse(fs.readFileSync(file, 'utf8')) as { users?: unknown }).users;
    if (!Array.isArray(list)) return [];
    const has = (d: (typeof DEV_USERS)[number]): boolean => list.some((u: unknown) => typeof u === 'object' && u !== null && (u as LocalUser).username === d.username && (u as LocalUser).fhirUser === d.fhirUser);
    return DEV_USERS.filter(has).map((d) => d.fhirUser);
  } catch {
    return [];
  }
}

/** Reads `dataDir/users.json` (created with the development users when absent); in memory when dataDir is undefined. */
export function loadUserRegistry(dataDir: string | undefined): UserRegistry {
  if (dataDir === undefined) return userRegistryOf(devUsers());
  const file = path.join(dataDir, USERS_FILE);
  if (!fs.existsSync(file)) {
    const users = devUsers();
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify({ users }, null, 2)}\n`, { mode: 0o600 });
    return userRegistryOf(users);
  }
  return userRegistryOf(parseUsers(JSON.parse(fs.readFileSync(file, 'utf8')), file));
}
