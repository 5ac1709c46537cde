import { Command } from 'commander';
import * as path from 'path';
import { logsReportOptions, registerLogsCommand } from '../../bin/commands/logs';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'logs', 'mail.log');

describe('logs report command', () => {
  it('turns flags into library options', () => {
    const now = new Date(Date.UTC(2026, 10, 29, 12));
    expect(logsReportOptions({ since: '24h', until: '2026-11-29T12:00:00Z', toDomain: 'domain.tld', year: 2025, top: 3 }, now)).toEqual({
      since: new Date(Date.UTC(2026, 10, 28, 12)), until: now, toDomain: 'domain.tld', year: 2025, top: 3, now,
    });
    expect(() => logsReportOptions({ since: 'soon' }, now)).toThrow(/--since/);
  });

  it('registers `logs report [files...]` and prints JSON', async () => {
    const program = new Command().exitOverride();
    registerLogsCommand(program);
    const chunks: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      chunks.push(String(c));
      return true;
    });
    try {
      await program.parseAsync(['node', 'x', 'logs', 'report', '--json', '--to-domain', 'domain.tld', '--year', '2026', FIXTURE]);
    } finally {
      spy.mockRestore();
    }
    const report = JSON.parse(chunks.join(''));
    expect(report.grandTotals.received).toBe(6);
    expect(report.toDomain.domain).toBe('domain.tld');
  });
});
