import { describe, expect, it } from 'vitest';
import { parseListeners } from '../../src/release/listeners.js';

describe('parseListeners', () => {
  it('keeps the listening sockets of /proc/net/tcp and tcp6, with their port and inode', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0',
      '   2: 0100007F:0050 0100007F:D3A2 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    expect(parseListeners(tcp)).toEqual([{ port: 80, inode: '31337' }, { port: 8080, inode: '4242' }]);
    const tcp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect(parseListeners(tcp6)).toEqual([{ port: 443, inode: '777' }]);
    expect(parseListeners('')).toEqual([]);
    expect(parseListeners('header\ngarbage line\n')).toEqual([]);
  });
});
