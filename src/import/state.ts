/**
 * Resume state of an import (issue 16): `import-state.json` in the report directory records, per unit
 * sent (`<file>#<entry index or line>`), the entries (indexes in the unit) still to load: none when
 * the unit loaded completely, the rejected ones otherwise. A rerun with the same inputs skips the
 * complete units and sends only the rejected entries of the others (so a corrected configuration,
 * e.g. `--base-validation`, loads them without duplicating what loaded); `--restart` (or other inputs)
 * starts again. Written atomically (temporary file + rename) after every unit, so an interruption loses
 * at most the units in flight, which are whole Bundles (a transaction commits or not).
 */
import fs from 'node:fs';
import path from 'node:path';

interface StateFile {
  inputs: string[];
  /** Unit key -> indexes of its entries not loaded yet (empty: complete). */
  units: Record<string, number[]>;
}

export class ImportState {
  private readonly units: Map<string, number[]>;
  private readonly file: string;

  private constructor(file: string, private readonly inputs: string[], units: Record<string, number[]>) {
    this.file = file;
    this.units = new Map(Object.entries(units));
  }

  /** The state for `inputs` in `dir` (empty when absent, for other inputs, or when `restart`). */
  static open(dir: string, inputs: string[], restart: boolean): ImportState {
    const file = path.join(dir, 'import-state.json');
    if (!restart && fs.existsSync(file)) {
      try {
        const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<StateFile>;
        if (JSON.stringify(s.inputs) === JSON.stringify(inputs) && s.units && typeof s.units === 'object') return new ImportState(file, inputs, s.units);
      } catch {
        // An unreadable state file is ignored: the import starts again.
      }
    }
    return new ImportState(file, inputs, {});
  }

  /** The entries of a unit still to load: undefined when never sent (all of them), empty when complete. */
  pending(key: string): readonly number[] | undefined {
    return this.units.get(key);
  }

  /** Records what of a unit is still to load after sending it. */
  record(key: string, pending: number[]): void {
    this.units.set(key, pending);
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ inputs: this.inputs, units: Object.fromEntries(this.units) } satisfies StateFile));
    fs.renameSync(tmp, this.file);
  }
}
