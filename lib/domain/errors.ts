/**
 * Errors of the domain that callers act on. Each is a class with a stable `code`, so code reads
 * `if (err instanceof IllegalTransitionError)` or `isWarmpoolError(err, 'conflict')` instead of parsing messages.
 */
export class WarmpoolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A transition the lifecycle does not allow. */
export class IllegalTransitionError extends WarmpoolError {
  constructor(
    readonly instanceId: string,
    readonly from: string,
    readonly to: string,
  ) {
    super('illegal_transition', `instance ${instanceId}: illegal transition ${from} → ${to}`);
  }
}

/** The instance was not in the state the caller expected (someone else moved it first). */
export class StaleStateError extends WarmpoolError {
  constructor(
    readonly instanceId: string,
    readonly expected: readonly string[],
    readonly actual: string,
  ) {
    super('stale_state', `instance ${instanceId}: expected ${expected.join('|')}, found ${actual}`);
  }
}

/** Another controller holds a live lease on the instance. */
export class LeaseHeldError extends WarmpoolError {
  constructor(
    readonly instanceId: string,
    readonly owner: string,
  ) {
    super('lease_held', `instance ${instanceId}: lease held by ${owner}`);
  }
}

/** The record the caller named does not exist. */
export class UnknownInstanceError extends WarmpoolError {
  constructor(
    readonly pool: string,
    readonly instanceId: string,
  ) {
    super('unknown_instance', `pool ${pool}: no instance ${instanceId}`);
  }
}

export class UnknownPoolError extends WarmpoolError {
  constructor(readonly pool: string) {
    super('unknown_pool', `unknown pool "${pool}"`);
  }
}

export function isWarmpoolError(err: unknown, code?: string): err is WarmpoolError {
  return err instanceof WarmpoolError && (code === undefined || err.code === code);
}
