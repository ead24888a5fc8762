/**
 * Bytes a benchmark process wrote (Linux /proc/[pid]/io, proc(5): `wchar`, the bytes passed to
 * write(2), pwrite(2) and their kin, whether or not they reached the disk yet): the WAL frames and
 * checkpoint copies of the SQLite store, which do not depend on the machine's load.
 */
import fs from 'node:fs';

/** `wchar` of /proc/self/io so far, or undefined where the system does not tell (not Linux). */
export function bytesWritten(): number | undefined {
  try {
    const m = /^wchar: (\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
