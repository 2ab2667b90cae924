import { describe, expect, it } from 'vitest';
import { runLifetimeScript } from '../../../tools/testing/lifetime';

describe('@rediver/pipeline in a program with nothing else alive', () => {
  it(
    'settles every awaited promise (flush during a retry or a hung attempt, stop, close) and exits 0',
    { timeout: 90_000 },
    async () => {
      const result = await runLifetimeScript(new URL('./lifetime/script.ts', import.meta.url).pathname);
      // Exit code 13 and missing steps: Node ended the program in the middle of an await.
      expect(result).toEqual({
        code: 0,
        signal: null,
        stdout: 'flushed-after-retry:1 flushed-after-timeout:1 drained:0 handed-back:1 closed\n',
        stderr: '',
      });
    },
  );
});
