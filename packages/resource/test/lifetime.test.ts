import { describe, expect, it } from 'vitest';
import { runLifetimeScript, settledCleanly } from '../../../tools/testing/lifetime';

describe('@rediver/resource in a program with nothing else alive', () => {
  it(
    'settles every awaited promise (acquire with timeout, acquire, close) and exits 0',
    { timeout: 90_000 },
    async () => {
      const result = await runLifetimeScript(new URL('./lifetime/script.ts', import.meta.url).pathname);
      expect(result).toEqual(settledCleanly('timeout timeout0 acquired closed rejected\n'));
    },
  );
});
