import { describe, expect, it } from 'vitest';
import { runLifetimeScript, settledCleanly } from '../../../tools/testing/lifetime';

describe('@rediver/pipeline in a program with nothing else alive', () => {
  it(
    'settles every awaited promise (flush during a retry or a hung attempt, stop, close) and exits 0',
    { timeout: 90_000 },
    async () => {
      const result = await runLifetimeScript(new URL('./lifetime/script.ts', import.meta.url).pathname);
      expect(result).toEqual(
        settledCleanly('flushed-after-retry:1 flushed-after-timeout:1 drained:0 handed-back:1 closed\n'),
      );
    },
  );
});
