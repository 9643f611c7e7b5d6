// lib/testing.ts - hooks for tests of code built on memctx: fault injection in the C mapping
// layer and a switch that makes the addon behave as if external ArrayBuffers were forbidden.
import { refreshUntransferable } from './context';
import { native } from './native';
import { validateSize } from './validate';

export const testing = {
  /** Make the nth OS mapping from now fail (1 = the next); every > 0 keeps failing; (0, 0) stops. */
  failMapping(nth: number, every = 0): void {
    validateSize(nth, 'nth', 2 ** 32 - 1);
    validateSize(every, 'every', 2 ** 32 - 1);
    native.faultInject(nth, every);
  },
  /** Behave as if the runtime refused external ArrayBuffers (napi_no_external_buffers_allowed). */
  forbidExternalBuffers(on: boolean): void {
    native.setNoExternalBuffers(on === true);
  },
  /**
   * Make chunk ArrayBuffers with napi_create_external_arraybuffer (and Node-API finalizers in
   * reserve mode) instead of V8's API, as builds without node's V8 headers do. Returns whether
   * the V8 path is in use afterwards.
   */
  useNodeApiArrayBuffers(on: boolean): boolean {
    const v8 = native.setV8Direct(on !== true);
    refreshUntransferable();
    return v8;
  },
  /** 1 when the C core was built with MEMCTX_CHECKING. */
  checkingEnabled(): boolean {
    return native.checkingEnabled();
  },
};
