// lib/errors.ts - the one allocator error type (MemctxError, ERR_MEMCTX_* codes) and the
// TypeError/RangeError builders used by argument validation.

/** Codes of allocator conditions, as returned by the C core's mcx_status_code(). */
export type MemctxErrorCode =
  | 'ERR_MEMCTX_INVALID_ARG'
  | 'ERR_MEMCTX_OOM'
  | 'ERR_MEMCTX_LIMIT'
  | 'ERR_MEMCTX_DELETED'
  | 'ERR_MEMCTX_TOO_LARGE'
  | 'ERR_MEMCTX_FOREIGN_POINTER'
  | 'ERR_MEMCTX_DOUBLE_FREE'
  | 'ERR_MEMCTX_CORRUPT'
  | 'ERR_MEMCTX_BUSY'
  | 'ERR_MEMCTX_NO_EXTERNAL_BUFFERS'
  | 'ERR_MEMCTX_UNSAFE_STREAM'
  | 'ERR_MEMCTX_INTERNAL'
  | 'ERR_MEMCTX_ADDON_NOT_FOUND';

// Status numbers by code, as the C core defines them (read from the addon by lib/native.ts).
let statusByCode: Readonly<Record<string, number>> = {};

/** @internal called once by lib/native.ts with the addon's status table. */
export function useStatusTable(table: Readonly<Record<string, number>>): void {
  statusByCode = table;
}

/**
 * An allocator condition: out of memory, over a context's limit, a deleted context, external
 * buffers forbidden by the runtime. `code` is stable; `status` is the C status (negative) when
 * the condition came from the C core, else 0.
 */
export class MemctxError extends Error {
  readonly code: MemctxErrorCode;
  readonly status: number;

  constructor(message: string, code: MemctxErrorCode, status?: number) {
    super(message);
    this.name = 'MemctxError';
    this.code = code;
    this.status = status ?? statusByCode[code] ?? 0;
  }

  get [Symbol.toStringTag](): string {
    return 'MemctxError';
  }
}

/** Render a received value the way Node's own ERR_INVALID_ARG_* messages do. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'string': {
      const s = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return `type string (${JSON.stringify(s)})`;
    }
    case 'function':
      return `function ${value.name || '<anonymous>'}`;
    case 'object': {
      const ctor = (value as object).constructor;
      if (ctor && typeof ctor === 'function' && ctor.name) return `an instance of ${ctor.name}`;
      return 'an object';
    }
    default:
      return `type ${typeof value} (${String(value)})`;
  }
}

type CodedError<E extends Error> = E & { code: string };

function withCode<E extends Error>(err: E, code: string): CodedError<E> {
  Object.defineProperty(err, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return err as CodedError<E>;
}

/** TypeError ERR_INVALID_ARG_TYPE: `The "size" argument must be of type number. Received ...`. */
export function invalidArgType(name: string, expected: string, actual: unknown): CodedError<TypeError> {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`),
    'ERR_INVALID_ARG_TYPE');
}

/** RangeError ERR_OUT_OF_RANGE: `The value of "size" is out of range. It must be ... Received ...`. */
export function outOfRange(name: string, expected: string, actual: unknown): CodedError<RangeError> {
  return withCode(new RangeError(`The value of "${name}" is out of range. It must be ${expected}. Received ${describe(actual)}`),
    'ERR_OUT_OF_RANGE');
}

/** TypeError ERR_INVALID_ARG_VALUE: right type, unacceptable value (a Buffer of another context). */
export function invalidArgValue(name: string, reason: string, actual: unknown): CodedError<TypeError> {
  return withCode(new TypeError(`The argument "${name}" ${reason}. Received ${describe(actual)}`), 'ERR_INVALID_ARG_VALUE');
}

/** MemctxError ERR_MEMCTX_DELETED for a method called on a deleted context. */
export function deletedError(method: string, name: string): MemctxError {
  return new MemctxError(`${method}: the memory context "${name}" was deleted`, 'ERR_MEMCTX_DELETED');
}

/** MemctxError ERR_MEMCTX_BUSY: the context cannot do that in its current state. */
export function busyError(method: string, name: string, why: string): MemctxError {
  return new MemctxError(`${method}: the memory context "${name}" ${why}`, 'ERR_MEMCTX_BUSY');
}

/** MemctxError ERR_MEMCTX_DOUBLE_FREE: a Buffer already given back by free() or realloc(). */
export function doubleFreeError(method: string, name: string): MemctxError {
  return new MemctxError(`${method}: the Buffer was already given back to the memory context "${name}" ` +
    '(by free() or realloc(); use the Buffer realloc() returned)', 'ERR_MEMCTX_DOUBLE_FREE');
}

/** TypeError ERR_INVALID_THIS, as Node's own: a method called on an object that is not one of ours. */
export function invalidThis(member: string, expected: string): CodedError<TypeError> {
  return withCode(new TypeError(`${member} must be called on ${expected}`), 'ERR_INVALID_THIS');
}
