import { Command, InvalidArgumentError, Option } from 'commander';
import { asUsageError } from '../usage';
import { parseEndpoint } from '../../lib/model/endpoint';
import { checkTls, defaultMode, exitCodeFor, formatTlsCheck, isEhloName, MinProtocol, TlsCheckMode } from '../../lib/probe/tls-check';

interface TlsCheckFlags {
  starttls?: boolean;
  implicit?: boolean;
  json?: boolean;
  minProtocol: MinProtocol;
  ehlo?: string;
  timeout: number;
  verifyHostname: boolean;
}

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`--timeout ${value}: not a positive number of seconds`);
  return n;
}

function ehloName(value: string): string {
  if (!isEhloName(value))
    throw new InvalidArgumentError(`--ehlo ${JSON.stringify(value)}: not a domain name or an address literal such as [192.0.2.1]`);
  return value;
}

export function registerTlsCheckCommand(program: Command): void {
  program
    .command('tls-check')
    .description(
      "probe a mail server's TLS: protocol, cipher, key exchange, certificate, and refusal of SSLv3/TLS 1.0/1.1 " +
        '(exit 0 ok, 1 policy violation or no TLS session, 2 usage error)',
    )
    .argument(
      '<host:port>',
      'e.g. mx1.example.org:25, [2001:db8::1]:465 or mx1.example.org:submission (smtp, submission, submissions, smtps)',
    )
    .addOption(new Option('--starttls', 'SMTP STARTTLS (default for ports 25 and 587)').conflicts('implicit'))
    .addOption(new Option('--implicit', 'TLS from the first byte (default for 465 and other ports)').conflicts('starttls'))
    .addOption(new Option('--min-protocol <version>', 'older protocols must be refused').choices(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'))
    .option('--ehlo <name>', "EHLO name to send before STARTTLS (default: this machine's dotted name, else localhost)", ehloName)
    .option('--timeout <seconds>', 'per connection', positiveSeconds, 15)
    .option('--no-verify-hostname', 'do not check the certificate name against HOST')
    .option('--json', 'print the result as JSON')
    .action(async (hostPort: string, flags: TlsCheckFlags) => {
      const { host, port } = asUsageError(() =>
        parseEndpoint(hostPort, { field: '<host:port>', requirePort: true, example: 'mx1.example.org:25 or [2001:db8::1]:465' }),
      );
      const mode: TlsCheckMode = flags.starttls ? 'starttls' : flags.implicit ? 'implicit' : defaultMode(port);
      const result = await checkTls(
        { host, port, mode },
        { minProtocol: flags.minProtocol },
        { ehloName: flags.ehlo, timeoutMs: flags.timeout * 1000, verifyHostname: flags.verifyHostname },
      );
      process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatTlsCheck(result)}\n`);
      // Usage errors alone exit 2 (bin/exit.ts): a server without a TLS session fails the check.
      process.exitCode = exitCodeFor(result) === 0 ? 0 : 1;
    });
}
