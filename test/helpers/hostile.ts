import { tar } from './bundles.js';

/**
 * A Wasm module whose start function loops forever: `(module (func (loop (br 0))) (start 0))`.
 * Instantiating it never returns, so only terminating its thread stops it.
 */
export const LOOPING_WASM = Buffer.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: one func () -> ()
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x08, 0x01, 0x00, // start section: function 0
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // code: loop { br 0 }
]);

/** The 176-byte bundle: a manifest and the looping module. */
export function loopingBundle(): Promise<Buffer> {
  return tar(new Map([['/.manifest', Buffer.from('{"revision":"loop"}')], ['/policy.wasm', LOOPING_WASM]]));
}

/**
 * Probes GET /healthz every 20 ms while `work` is in flight; returns the slowest probe's latency.
 * The service under test listens on a real port, so a blocked event loop shows as a slow probe.
 */
export async function slowestHealthProbe<T>(address: string, work: Promise<T>): Promise<{ result: T; slowestMs: number; probes: number }> {
  let done = false;
  let slowestMs = 0;
  let probes = 0;
  const probing = (async () => {
    while (!done) {
      const started = performance.now();
      const response = await fetch(`${address}/healthz`);
      await response.arrayBuffer();
      slowestMs = Math.max(slowestMs, performance.now() - started);
      probes++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const result = await work.finally(() => {
    done = true;
  });
  await probing;
  return { result, slowestMs, probes };
}
