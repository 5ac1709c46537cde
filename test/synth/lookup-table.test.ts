/** LookupTable and Aliases constructs at synth: wiring through PostfixHost, a 1,000,000-entry fromFile in bounded memory. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing, TerraformStack } from 'cdktf';
import { Aliases, LookupTable, PostfixHost } from '../../index';

function newHost() {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  const host = new PostfixHost(stack, 'mx', { connection: { host: '192.0.2.10', privateKeyPath: '/k', knownHostsPath: '/kh' } });
  return { stack, host };
}

describe('LookupTable construct', () => {
  it('shortcuts feed their parameter; errors name the construct path', () => {
    const { host } = newHost();
    const v = LookupTable.virtualAlias(host, 'virtual', { entries: [{ key: 'info@example.org', value: 'alice' }] });
    LookupTable.transport(host, 'transport', { entries: [{ key: 'special.test', value: 'error:5.0.0 no such domain' }] });
    LookupTable.recipientBcc(host, 'bcc', { type: 'inline', entries: [{ key: 'ceo@example.org', value: 'archive@example.org' }] });
    new Aliases(host, 'aliases', { operator: 'ops@example.org' });
    expect(v.reference).toBe('hash:/etc/postfix/virtual');
    const b = host.bundle.bundle;
    expect(b.mainCf.set).toMatchObject({
      virtual_alias_maps: 'hash:/etc/postfix/virtual',
      transport_maps: 'hash:/etc/postfix/transport',
      recipient_bcc_maps: 'inline:{ ceo@example.org=archive@example.org }',
      alias_maps: 'hash:/etc/aliases',
    });
    expect(b.files['/etc/aliases'].postalias).toBe('hash');
    expect(() => LookupTable.transport(host, 'bad', { entries: [{ key: 'x.test', value: 'smtp' }] })).toThrow(
      /^test\/mx\/bad: entries\["x.test"\] value = "smtp": a transport\(5\) result needs a ":"/,
    );
  });

  it('a 1,000,000-entry virtual alias file: bounded memory, only its hash in triggers, shipped beside the bundle', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'big-virtual-'));
    const file = path.join(dir, 'virtual');
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < 1_000_000; i += 10000) {
      let chunk = '';
      for (let j = i; j < i + 10000; j++) chunk += `user${j}@d${j % 997}.example user${j}@mail.example\n`;
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
    const before = process.memoryUsage().heapUsed;
    const { stack, host } = newHost();
    const t = LookupTable.virtualAlias(host, 'virtual', { fromFile: file });
    expect(t.size).toBe(1_000_000);
    const out = JSON.parse(Testing.synth(stack));
    const heapGrowth = process.memoryUsage().heapUsed - before;
    const res = Object.values(out.resource.terraform_data)[0] as { triggers_replace: Record<string, string> };
    expect(res.triggers_replace['file:/etc/postfix/virtual']).toMatch(/^sha256:[0-9a-f]{64} \(\d+ bytes\)$/);
    expect(JSON.stringify(out).length).toBeLessThan(100_000);
    expect(host.bundle.bundle.files['/etc/postfix/virtual']).toMatchObject({ postmap: 'hash' });
    expect(host.bundle.assets[0].sourcePath).toBe(file);
    expect(heapGrowth).toBeLessThan(60 * 1024 * 1024); // the file is ~45 MB; keys are never all held
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
