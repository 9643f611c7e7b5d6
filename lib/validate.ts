// lib/validate.ts - argument checks of the public API: exact TypeError/RangeError messages that
// name the argument, the expected and the received value (the native side trusts these).
import { invalidArgType, invalidArgValue, outOfRange } from './errors';

/** A byte count: an integer from 0 to max (inclusive). */
export function validateSize(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < 0 || value > max) throw outOfRange(name, `>= 0 && <= ${max}`, value);
  return value;
}

/** An optional byte count (undefined gives the default). */
export function validateOptionalSize(value: unknown, name: string, min: number, max: number, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
  return value;
}

export function validatePowerOfTwo(value: number, name: string): void {
  if (value <= 0 || !Number.isInteger(Math.log2(value))) throw outOfRange(name, 'a power of two', value);
}

export function validateFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
}

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
}

export function validateObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgType(name, 'of type object', value);
  }
}

/** An options bag: undefined is allowed; unknown keys are refused (typos would silently do nothing). */
export function validateOptions(value: unknown, name: string, known: ReadonlySet<string>): Record<string, unknown> {
  if (value === undefined) return {};
  validateObject(value, name);
  // for...in over own keys: no key array per call (a constructor option bag is on the hot path)
  for (const key in value) {
    if (!known.has(key) && Object.prototype.hasOwnProperty.call(value, key)) {
      throw invalidArgValue(`${name}.${key}`, `is not a known option (expected one of ${[...known].join(', ')})`, key);
    }
  }
  return value;
}

export function validateOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value !== 'string') throw invalidArgType(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidArgValue(name, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}
