// The argument checks Deno's KV does in JS (ext/kv/01_db.ts), with its
// messages; the checks Deno does in its op are in src/kv/.

export function validateExpireIn(expireIn) {
  if (expireIn === undefined) return;
  if (typeof expireIn !== "number" || !Number.isInteger(expireIn) || expireIn < 0) {
    throw new TypeError(`expireIn must be a non-negative integer: received ${expireIn}`);
  }
}

const MAX_QUEUE_DELAY_MS = 30 * 24 * 60 * 60 * 1000;
const MAX_BACKOFF_INTERVALS = 5;
const MAX_BACKOFF_INTERVAL_MS = 60 * 60 * 1000;

export function validateQueueDelay(delay) {
  if (delay < 0) throw new TypeError(`Delay must be >= 0: received ${delay}`);
  if (delay > MAX_QUEUE_DELAY_MS) throw new TypeError(`Delay cannot be greater than 30 days: received ${delay}`);
  if (Number.isNaN(delay)) throw new TypeError("Delay cannot be NaN");
}

export function validateBackoffSchedule(schedule) {
  if (schedule.length > MAX_BACKOFF_INTERVALS) {
    throw new TypeError(`Invalid backoffSchedule, max ${MAX_BACKOFF_INTERVALS} intervals allowed`);
  }
  for (let i = 0; i < schedule.length; ++i) {
    const interval = schedule[i];
    if (interval < 0 || interval > MAX_BACKOFF_INTERVAL_MS || Number.isNaN(interval)) {
      throw new TypeError(`Invalid backoffSchedule, interval at index ${i} is invalid`);
    }
  }
}

export function validatePositiveInteger(name, value) {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new Error(`${name} must be a positive integer: received ${value}`);
  }
}

// getMany's keys reach the bindings through one more range than its limit
// (10), so that "Too many ranges" is still reported: the rest is not read.
const GET_MANY_KEYS_READ = 11;

/**
 * getMany's list of keys as Deno makes it, with Array.prototype.map over
 * whatever it is given: an array-like or a Proxy of an array is a list, a
 * number or a Set an empty one, null or undefined a TypeError. Unlike map it
 * stops after GET_MANY_KEYS_READ items, so a length of 2^32 − 1 costs no
 * more than 11.
 */
export function getManyKeys(keys) {
  if (keys === null || keys === undefined) {
    throw new TypeError("Array.prototype.map called on null or undefined");
  }
  const object = Object(keys);
  const claimed = +object.length;
  const length = claimed > 0 ? Math.min(Math.floor(claimed), GET_MANY_KEYS_READ) : 0;
  const list = new Array(length);
  for (let i = 0; i < length; i++) {
    // map leaves a hole where the list has one, which Deno's op then finds
    // where it wants a range.
    if (!(i in object)) throw new TypeError("serde_v8 error: invalid type; expected: object, got: undefined");
    list[i] = object[i];
  }
  return list;
}
