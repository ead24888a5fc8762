/**
 * File permissions of SQLite databases (SQLite "Temporary Files Used By SQLite" §2.2-2.3: the WAL and
 * shared-memory files sit beside the database and hold its recent content): the database, its `-wal`,
 * `-shm` and `-journal` files are readable by their owner only (0600), whatever the process umask, as
 * the authorization server's key file is.
 */
import fs from 'node:fs';

/** Creates `file` empty with mode 0600 when it does not exist (before SQLite opens it, so it never exists wider). */
export function createPrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  fs.chmodSync(file, 0o600);
}

/** Sets 0600 on the database file and on whichever of its -wal, -shm and -journal files exist. */
export function restrictDatabaseFiles(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      fs.chmodSync(f, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
