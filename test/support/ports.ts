import { randomInt } from 'node:crypto';
import { listenable, LOWEST_PICKED_PORT } from '../../src/chain/index.js';

/**
 * Ports of one jest worker: its own slice of 10081–32080 (above the ports fetch refuses, below the kernel's
 * ephemeral range).
 */
const LOWEST = LOWEST_PICKED_PORT;
const SLICE = 2_000;
const SLICES = 11;

/** Ports this process handed out; some are not listened on yet. */
const handedOut = new Set<number>();

/**
 * A free port for a test's app, chain node or child service. `freePort()` picks at random from the whole range,
 * and the caller listens seconds later (after its database and chain node): the other jest worker could pick the
 * same port meanwhile and one of the two would fail with EADDRINUSE. Here each worker picks from a slice of its
 * own (by JEST_WORKER_ID), and never hands a port out twice.
 */
export async function testPort(): Promise<number> {
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const base = LOWEST + ((Math.max(1, worker) - 1) % SLICES) * SLICE;
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = base + randomInt(SLICE);
    if (handedOut.has(port)) continue;
    if ((await listenable(port)) !== undefined) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port left in ${base}–${base + SLICE - 1} for jest worker ${worker}`);
}
