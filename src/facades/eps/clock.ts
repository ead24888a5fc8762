/**
 * The clock the EPS façades judge prescription expiry and repeat-dispensing issue dates by, and time
 * their transitions with (docs/eps.md "Nomination and expiry", ADR 38): `services.now`
 * (the server clock, replaceable in tests), unless a test set a prescription clock for these
 * services — the example replays run at their examples' dates without moving the clock that
 * signatures, tokens and idempotency use.
 */
import type { FhirServices } from '../../fhir/context';

const clocks = new WeakMap<FhirServices, () => Date>();

/** Sets (or, undefined, clears) the prescription clock of `services`. */
export function setPrescriptionClock(services: FhirServices, clock: (() => Date) | undefined): void {
  if (clock) clocks.set(services, clock);
  else clocks.delete(services);
}

/** Now, for prescription expiry. */
export function prescriptionNow(services: FhirServices): Date {
  return (clocks.get(services) ?? services.now)?.() ?? new Date();
}
