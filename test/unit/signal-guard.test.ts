import { parsePids, signalPid } from '../helpers/signal';

describe('the guarded signal helper for test-owned processes', () => {
  test.each([0, -1, 1, NaN, 1.5, process.pid])('refuses pid %p (a process group, init, or jest itself)', (pid) => {
    expect(() => signalPid(pid)).toThrow(/refusing to signal pid/);
  });
  test('a pid file still being written gives no pid', () => {
    expect(parsePids('')).toBeUndefined();
    expect(parsePids('4242')).toBeUndefined();
    expect(parsePids('\n')).toBeUndefined();
    expect(parsePids('4242 \n', 2)).toBeUndefined();
  });
  test('a finished pid file gives its pids', () => {
    expect(parsePids('4242\n')).toEqual([4242]);
    expect(parsePids('4242 17\n', 2)).toEqual([4242, 17]);
  });
});
