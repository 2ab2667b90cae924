// A user's program on @rediver/resource with nothing else alive: it awaits each public promise in turn and
// prints one word per settled step. Run by test/lifetime.test.ts in a child process; it must print every step
// and exit 0 by itself (a timer a pending promise needs must keep the process alive).
import { isRediverError, ResourceController } from '../../src/index';

const steps: string[] = [];
const controller = new ResourceController({ maxConcurrentJobs: 1 });
void controller.start(); // sampling timers are idle background work: they must not keep the process alive

const held = controller.acquireSlot();
if (held === null) throw new Error('the only slot should be free');

// Nothing but the wait's own timer is alive here.
try {
  await controller.acquireSlotBlocking({ timeoutMs: 200 });
  throw new Error('acquired a slot that is held');
} catch (err) {
  if (!isRediverError(err, 'TIMEOUT')) throw err;
  steps.push('timeout');
}

// timeoutMs 0: only if free now.
try {
  await controller.acquireSlotBlocking({ timeoutMs: 0 });
} catch (err) {
  if (!isRediverError(err, 'TIMEOUT')) throw err;
  steps.push('timeout0');
}

// Granted when the holder releases (the release runs on a timer of the program's own).
setTimeout(() => held.release(), 50);
const slot = await controller.acquireSlotBlocking({ timeoutMs: 30_000 });
steps.push('acquired');

// A waiter still queued at close() is rejected with CLOSED; close() itself settles.
const queued = controller.acquireSlotBlocking({ timeoutMs: 30_000 });
await controller.close();
steps.push('closed');
try {
  await queued;
} catch (err) {
  if (!isRediverError(err, 'CLOSED')) throw err;
  steps.push('rejected');
}
slot.release();
process.stdout.write(`${steps.join(' ')}\n`);
