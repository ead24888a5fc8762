/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, the Chrome DevTools `.cpuprofile` format: nodes
 * with call frames, samples and time deltas) for docs/performance.md: the share of CPU time
 * (a) by what ran (self time by category: JSON, ajv, fhirpath.js, SQLite, GC, this server's modules)
 * and (b) by which of this server's modules it ran for (each sample charged to its nearest caller in
 * `dist/src/`, library and native time included), and the top functions by self time.
 *
 *   node dist/bench/cpu-profile-summary.js <file.cpuprofile> [top=25] [--from=S] [--to=S] [--timeline]
 *
 * `--from` / `--to` keep only the samples taken that many seconds after the profile's start (to leave
 * out a server's start and seeding); `--timeline` prints the busy milliseconds of each second first,
 * which shows where the phases of a run begin.
 */
import fs from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface Window {
  fromUs: number;
  toUs: number;
  timeline: boolean;
}

function windowOf(args: readonly string[]): Window {
  const secs = (name: string, dflt: number): number => {
    const a = args.find((x) => x.startsWith(`--${name}=`));
    return a === undefined ? dflt : Number(a.slice(name.length + 3)) * 1e6;
  };
  return { fromUs: secs('from', 0), toUs: secs('to', Infinity), timeline: args.includes('--timeline') };
}

const IDLE = new Set(['(idle)', '(program)']);

/** What a frame is, by its script (self-time category). */
function category(f: CallFrame): string {
  const u = f.url;
  if (f.functionName === '(garbage collector)') return 'GC';
  if (u === '') return f.functionName === 'parse' || f.functionName === 'stringify' ? `JSON.${f.functionName}` : `native: ${f.functionName || '(anonymous)'}`;
  const lib = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (lib) return `library: ${lib[1]!}`;
  const own = /dist\/(src\/[^/]+(?:\/[^/]+)?)/.exec(u);
  if (own) return own[1]!.replace(/\.js$/, '');
  if (u.startsWith('node:')) return 'node internals';
  return u;
}

function ownModule(f: CallFrame): string | undefined {
  const m = /dist\/(src\/.+)\.js$/.exec(f.url);
  return m?.[1];
}

function main(): void {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node dist/bench/cpu-profile-summary.js <file.cpuprofile> [top=25] [--from=S] [--to=S] [--timeline]');
    process.exit(1);
  }
  const rest = process.argv.slice(3);
  const top = Number(rest.find((a) => !a.startsWith('--')) ?? 25);
  const win = windowOf(rest);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  const busyPerSecond: number[] = [];
  let at = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (at < win.fromUs || at >= win.toUs) return;
    self.set(id, (self.get(id) ?? 0) + dt);
    if (!IDLE.has(byId.get(id)!.callFrame.functionName)) busyPerSecond[Math.floor(at / 1e6)] = (busyPerSecond[Math.floor(at / 1e6)] ?? 0) + dt;
  });
  if (win.timeline) {
    console.log('second: busy ms');
    busyPerSecond.forEach((us, s) => console.log(`${s}: ${(us / 1000).toFixed(0)}`));
  }

  let total = 0;
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id)!;
    if (IDLE.has(node.callFrame.functionName)) continue;
    total += us;
    const cat = category(node.callFrame);
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${cat}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    let owner: string | undefined;
    for (let at: number | undefined = id; at !== undefined && owner === undefined; at = parent.get(at)) owner = ownModule(byId.get(at)!.callFrame);
    const o = owner ?? '(outside src: GC, node internals, event loop)';
    byOwner.set(o, (byOwner.get(o) ?? 0) + us);
  }
  const table = (title: string, m: Map<string, number>, n: number): void => {
    console.log(`\n${title}\n| | ms | share |\n|---|---:|---:|`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`| ${k} | ${(us / 1000).toFixed(0)} | ${((100 * us) / total).toFixed(1)}% |`);
  };
  console.log(`${file}: ${(total / 1000).toFixed(0)} ms of CPU sampled (idle excluded)`);
  table('Self time by category', byCategory, top);
  table("Time by this server's module it ran for (nearest dist/src caller; libraries and natives included)", byOwner, top);
  table('Top functions by self time', byFunction, top);
}

main();
