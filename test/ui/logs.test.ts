import { describe, expect, it } from 'vitest';
import { LogFormatter, logPrefix, useColor } from '../../src/ui/logs.js';

describe('log prefixes', () => {
  it('web.1 alone; host and process with several hosts', () => {
    expect(logPrefix({ process: 'web.1', time: '', text: 'x', host: 'root@10.0.0.5:22' }, false)).toBe('web.1');
    expect(logPrefix({ process: 'worker.2', time: '', text: 'x', host: 'root@10.0.0.5:22' }, true)).toBe('root@10.0.0.5:22 worker.2');
  });

  it('without colour: "<prefix padded> | text", padded to the longest prefix', () => {
    const format = new LogFormatter(false, false, ['web.1', 'worker.1']);
    expect(format.format({ process: 'web.1', time: '', text: 'listening on 8080' })).toBe('web.1    | listening on 8080');
    expect(format.format({ process: 'worker.1', time: '', text: 'tick' })).toBe('worker.1 | tick');
  });

  it('with colour: one ANSI colour per process, in order of appearance', () => {
    const format = new LogFormatter(false, true);
    expect(format.format({ process: 'web.1', time: '', text: 'a' })).toBe('\u001b[36mweb.1\u001b[39m | a');
    expect(format.format({ process: 'worker.1', time: '', text: 'b' })).toBe('\u001b[35mworker.1\u001b[39m | b');
    expect(format.format({ process: 'web.1', time: '', text: 'c' })).toBe('\u001b[36mweb.1   \u001b[39m | c');
  });

  it('colour only on a TTY and without NO_COLOR', () => {
    expect(useColor(true, {})).toBe(true);
    expect(useColor(false, {})).toBe(false);
    expect(useColor(undefined, {})).toBe(false);
    expect(useColor(true, { NO_COLOR: '1' })).toBe(false);
  });
});
