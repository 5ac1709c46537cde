import { Command } from 'commander';
import * as path from 'path';
import { logsReportOptions, registerLogsCommand } from '../../bin/commands/logs';
import { CAT_FILE_FROM_STDIN_COMMAND, HOST_MAIL_LOG_COMMAND, analyzeRemoteLogs } from '../../lib/ops/logs/remote';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'logs', 'mail.log');

describe('logs report command', () => {
  it('turns flags into library options', () => {
    const now = new Date(Date.UTC(2026, 10, 29, 12));
    expect(logsReportOptions({ since: '24h', until: '2026-11-29T12:00:00Z', toDomain: 'domain.tld', year: 2025, top: 3 }, now)).toEqual({
      since: new Date(Date.UTC(2026, 10, 28, 12)),
      until: now,
      toDomain: 'domain.tld',
      year: 2025,
      top: 3,
      now,
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

describe('logs report connection flags', () => {
  it('registers the shared connection flags and refuses stdin with a connection before connecting', async () => {
    const program = new Command().exitOverride();
    registerLogsCommand(program);
    const report = program.commands.find((c) => c.name() === 'logs')!.commands.find((c) => c.name() === 'report')!;
    expect(report.options.map((o) => o.long)).toEqual(
      expect.arrayContaining(['--host', '--user', '--identity', '--known-hosts', '--host-key', '--stack', '--target']),
    );
    await expect(analyzeRemoteLogs({ host: '192.0.2.1' }, ['-'])).rejects.toThrow(/stdin cannot be combined with a connection/);
  });

  it('sends only constant commands; file names travel on stdin', () => {
    expect(HOST_MAIL_LOG_COMMAND).toContain('postconf -h maillog_file');
    expect(HOST_MAIL_LOG_COMMAND).toContain('/var/log/mail.log');
    expect(HOST_MAIL_LOG_COMMAND).toContain('journalctl');
    expect(CAT_FILE_FROM_STDIN_COMMAND).toBe(`sh -c 'IFS= read -r f && exec cat -- "$f"'`);
  });
});
