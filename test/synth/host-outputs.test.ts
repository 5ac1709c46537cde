/**
 * Issue 13 item 3 at synth: each PostfixHost exposes its SMTP endpoints as properties and as the
 * Terraform output `<prefix>_smtp_endpoints`, unique per stack (several hosts, nested hosts, a
 * colliding prefix refused), tokens passed through; MailDnsRecords takes its MX target from the host.
 */
import { Construct } from 'constructs';
import { DataResource, TerraformStack, Testing } from 'cdktf';
import { synthErrors } from '../helpers/deploy';
import { MailDnsRecords, PostfixHost, SmtpTlsMode, Submission, Submissions, TlsPolicy } from '../../index';

const connection = { host: '192.0.2.10', privateKeyPath: '/keys/id_ed25519', knownHostsPath: '/keys/known_hosts' };
type Output = { value: unknown; description?: string };

function outputs(stack: TerraformStack): Record<string, Output> {
  return (JSON.parse(Testing.synth(stack)) as { output: Record<string, Output> }).output;
}

const newStack = () => new TerraformStack(Testing.app(), 'test');

describe('PostfixHost SMTP endpoints', () => {
  test('properties and the output carry every endpoint, with the host name and TLS mode', () => {
    const stack = newStack();
    const host = new PostfixHost(stack, 'mx1', { connection, settings: { myhostname: 'mx1.example.org' } });
    host.addService(Submission.starttls());
    host.addService(Submissions.implicitTls());
    new TlsPolicy(host, 'tls', { certificates: [{ certFile: '/etc/ssl/c.pem', keyFile: '/etc/ssl/k.pem' }] });
    expect(host.hostname).toBe('mx1.example.org');
    expect(host.smtpAddress).toBe('192.0.2.10');
    const expected = [
      { kind: 'smtp', address: '192.0.2.10', hostname: 'mx1.example.org', port: 25, tls: 'starttls', service: 'smtp/inet' },
      { kind: 'submissions', address: '192.0.2.10', hostname: 'mx1.example.org', port: 465, tls: 'implicit', service: 'submissions/inet' },
      {
        kind: 'submission',
        address: '192.0.2.10',
        hostname: 'mx1.example.org',
        port: 587,
        tls: 'starttls-required',
        service: 'submission/inet',
      },
    ];
    expect(host.smtpEndpoints).toEqual(expected);
    expect(host.smtpEndpoints[0].tls).toBe(SmtpTlsMode.STARTTLS);
    expect(outputs(stack).mx1_smtp_endpoints.value).toEqual(expected);
  });

  test('several hosts, also nested under other constructs with the same id, get outputs that do not collide', () => {
    const stack = newStack();
    new PostfixHost(stack, 'mx1', { connection });
    new PostfixHost(stack, 'mx2', { connection: { ...connection, host: '192.0.2.11' } });
    const a = new PostfixHost(new Construct(stack, 'east'), 'mx', { connection: { ...connection, host: '192.0.2.12' } });
    const b = new PostfixHost(new Construct(stack, 'west'), 'mx', { connection: { ...connection, host: '192.0.2.13' } });
    const out = outputs(stack);
    const names = Object.keys(out)
      .filter((n) => n.endsWith('_smtp_endpoints'))
      .sort();
    expect(names).toHaveLength(4);
    expect(names).toEqual(
      expect.arrayContaining([
        'mx1_smtp_endpoints',
        'mx2_smtp_endpoints',
        `${a.outputPrefix}_smtp_endpoints`,
        `${b.outputPrefix}_smtp_endpoints`,
      ]),
    );
    expect(a.outputPrefix).not.toBe(b.outputPrefix);
    expect((out[`${b.outputPrefix}_smtp_endpoints`].value as { address: string }[])[0].address).toBe('192.0.2.13');
    expect(synthErrors(stack)).toBe('');
  });

  test('a token address (a VM born in the same deploy) reaches the output as a reference; smtpAddress overrides connection.host', () => {
    const stack = newStack();
    const vm = new DataResource(stack, 'vm', { input: { address: '198.51.100.7' } });
    const host = new PostfixHost(stack, 'mx1', { connection: { ...connection, host: vm.output.lookup('address') } });
    new PostfixHost(stack, 'mx2', {
      connection: { ...connection, host: 'mx2-alias' },
      smtpAddress: 'mx2.example.org',
      outputPrefix: 'edge',
    });
    expect(host.smtpEndpoints[0].address).toBe(host.smtpAddress);
    const out = outputs(stack);
    expect(out.mx1_smtp_endpoints.value).toEqual([
      { kind: 'smtp', address: '${terraform_data.vm.output["address"]}', port: 25, tls: 'host', service: 'smtp/inet' },
    ]);
    expect((out.edge_smtp_endpoints.value as { address: string }[])[0].address).toBe('mx2.example.org');
    expect(synthErrors(stack)).toBe('');
  });

  test('outputs: false writes none; the properties stay', () => {
    const stack = newStack();
    const host = new PostfixHost(stack, 'mx1', { connection, outputs: false });
    expect(host.smtpEndpointsOutput).toBeUndefined();
    expect(JSON.parse(Testing.synth(stack)).output).toBeUndefined();
    expect(host.smtpEndpoints).toHaveLength(1);
  });

  test('an outputPrefix that is no Terraform name is refused, naming the field and the fix', () => {
    expect(() => new PostfixHost(newStack(), 'mx1', { connection, outputPrefix: '1 mx' })).toThrow(
      /mx1.*outputPrefix.*"1 mx".*not a Terraform output name prefix.*start with a letter/s,
    );
  });

  test('two hosts given the same outputPrefix fail synthesis, naming both', () => {
    const stack = newStack();
    new PostfixHost(stack, 'mx1', { connection, outputPrefix: 'mx' });
    new PostfixHost(stack, 'mx2', { connection, outputPrefix: 'mx' });
    expect(synthErrors(stack)).toMatch(
      /test\/mx1.*outputPrefix.*"mx_smtp_endpoints".*test\/mx2\/smtp_endpoints also writes.*give each host/s,
    );
  });
});

describe('MailDnsRecords inside a host', () => {
  test("the MX target defaults to the host's myhostname", () => {
    const stack = newStack();
    const host = new PostfixHost(stack, 'mx1', { connection, settings: { myhostname: 'mx1.example.org' } });
    const dns = new MailDnsRecords(host, 'dns', { domain: 'example.org', outputPrefix: 'mx1_dns' });
    expect(dns.records.mx.value).toBe('10 mx1.example.org.');
    expect(outputs(stack).mx1_dns_mx.value).toEqual({ name: 'example.org', type: 'MX', ttl: 3600, value: '10 mx1.example.org.' });
  });

  test('without mxHost and without a host name to take it from, the error says what to give', () => {
    const stack = newStack();
    const host = new PostfixHost(stack, 'mx1', { connection });
    expect(() => new MailDnsRecords(host, 'dns', { domain: 'example.org' })).toThrow(
      /test\/mx1\/dns.*MailDnsRecords\.mxHost.*sets no literal myhostname.*give mxHost/s,
    );
    expect(() => new MailDnsRecords(stack, 'dns', { domain: 'example.org' })).toThrow(/not inside a PostfixHost/);
  });

  test('two hosts whose records keep the default prefix collide, and synthesis says so', () => {
    const stack = newStack();
    for (const id of ['mx1', 'mx2']) {
      const host = new PostfixHost(stack, id, { connection, settings: { myhostname: `${id}.example.org` } });
      new MailDnsRecords(host, 'dns', { domain: 'example.org' });
    }
    expect(synthErrors(stack)).toMatch(/"dns_mx".*also writes/);
  });
});
