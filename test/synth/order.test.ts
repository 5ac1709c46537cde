/**
 * Proof that a host does not depend on the order its pieces are added in: the same pieces, in every
 * order, give byte-identical bundle.json and identical Terraform triggers. The pieces are chosen so
 * that each acts on another: the TLS policy and the header checks on the submission services, the
 * recipient table on the restriction list the settings give (relay restrictions empty, so a wrong
 * placement would be an open relay), the DH group beside the TLS profile.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, TerraformStack } from 'cdktf';
import {
  AccessTable,
  DeliverySource,
  DhParameters,
  Forwarding,
  HeaderChecks,
  PostfixHost,
  ServiceType,
  Submissions,
  TlsPolicy,
} from '../../index';
import { HostBuilder } from '../../lib/host';
import { planHeaderChecks } from '../../lib/host/header-checks';
import { PRIVACY_RULES } from '../../lib/model/header-checks';
import { bundleJson } from '../../lib/render/bundle';

const settings = {
  myhostname: 'mx1.example.org',
  smtpd_relay_restrictions: '',
  smtpd_recipient_restrictions: 'permit_mynetworks, reject_unauth_destination',
};
/** A submission service without -o options: only the TLS policy makes it require TLS. */
const plainSubmission = { name: '127.0.0.1:587', type: ServiceType.INET, command: 'smtpd' };

type Piece = (host: PostfixHost) => void;

const PIECES: Record<string, Piece> = {
  settings: (h) => h.applySettings(settings),
  services: (h) => {
    h.addService(plainSubmission);
    h.addService(Submissions.implicitTls());
  },
  tls: (h) => {
    new TlsPolicy(h, 'tls', { chainFiles: ['/etc/ssl/private/mx1.pem'] });
  },
  dh: (h) => {
    new DhParameters(h, 'dh', { bits: 3072 });
  },
  senders: (h) => {
    new AccessTable(h, 'blocklist', { entries: { 'spam@bad.example': 'REJECT' } }).restrictSenders();
  },
  recipients: (h) => {
    new AccessTable(h, 'vip', { entries: { 'ceo@example.org': 'OK' } }).restrictRecipients();
  },
  headers: (h) => {
    new HeaderChecks(h, 'clean', HeaderChecks.privacy()).onSubmission();
  },
  forwarding: (h) => {
    new Forwarding(h, 'fwd', { commands: [DeliverySource.ALIAS, DeliverySource.FORWARD] });
  },
};
const NAMES = Object.keys(PIECES);

/** Builds the host with its pieces in `order`, synthesizes for real, returns bundle.json's bytes and the triggers. */
function synthIn(order: readonly string[]): { bundle: string; triggers: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'order-'));
  try {
    const app = new App({ outdir });
    const stack = new TerraformStack(app, 'order');
    const host = new PostfixHost(stack, 'mx', {
      connection: { host: '192.0.2.10', privateKeyPath: '/k', knownHostsPath: '/kh' },
      tlsCheckAfterApply: {},
    });
    for (const name of order) PIECES[name](host);
    app.synth();
    const stackDir = join(outdir, 'stacks', 'order');
    const [bundlePath] = (readdirSync(stackDir, { recursive: true }) as string[]).filter((f) => f.endsWith('bundle.json'));
    const json = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as {
      resource: { terraform_data: Record<string, { triggers_replace?: unknown }> };
    };
    const triggers = Object.values(json.resource.terraform_data).map((r) => r.triggers_replace);
    return { bundle: readFileSync(join(stackDir, bundlePath), 'utf8'), triggers: JSON.stringify(triggers) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Orders in which every piece comes both before and after every other piece, plus a few shuffles. */
function orders(): string[][] {
  const out = [NAMES, [...NAMES].reverse()];
  for (let i = 1; i < NAMES.length; i++) out.push([...NAMES.slice(i), ...NAMES.slice(0, i)]);
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let n = 0; n < 6; n++)
    out.push(
      [...NAMES]
        .map((x) => [random(), x] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, x]) => x),
    );
  return out;
}

describe('construct order', () => {
  const reference = synthIn(NAMES);

  it('composes each piece with the others', () => {
    const b = JSON.parse(reference.bundle);
    expect(b.masterCf.set['127.0.0.1:587/inet']).toBe(
      '127.0.0.1:587 inet - - - - - smtpd -o cleanup_service_name=msa_cleanup -o smtpd_tls_security_level=encrypt',
    );
    expect(b.masterCf.set['submissions/inet']).toContain('-o cleanup_service_name=msa_cleanup');
    expect(b.mainCf.set.smtpd_recipient_restrictions).toBe(
      'permit_mynetworks, reject_unauth_destination, check_recipient_access hash:/etc/postfix/vip',
    );
    expect(b.mainCf.set.smtpd_sender_restrictions).toBe('check_sender_access hash:/etc/postfix/blocklist');
    expect(b.mainCf.set.smtpd_tls_dh1024_param_file).toBe('/etc/postfix/dh3072.pem');
    expect(b.tlsChecks.map((c: { port: number }) => c.port)).toEqual([25, 465, 587]);
  });

  it.each(orders().map((o) => [o.join(' > '), o]))('%s: byte-identical bundle.json and triggers', (_, order) => {
    const got = synthIn(order);
    expect(got.bundle).toBe(reference.bundle);
    expect(got.triggers).toBe(reference.triggers);
  });
});

describe('HostBuilder order (the core alone, every permutation)', () => {
  type Step = (b: HostBuilder) => void;
  // Checked with postmap once (a process per check would dominate 720 builds), then added as data.
  const clean = planHeaderChecks('mail/mx/clean', 'clean', '/etc/postfix', { rules: [...PRIVACY_RULES] });
  const STEPS: Step[] = [
    (b) => b.applySettings(settings),
    (b) => b.addService(plainSubmission).addService(Submissions.implicitTls()),
    (b) => b.addTlsPolicy({ chainFiles: ['/etc/ssl/private/mx1.pem'] }),
    (b) => b.addDhParameters({ bits: 3072 }),
    (b) => b.restrict(b.addAccessTable('vip', { entries: { 'ceo@example.org': 'OK' } }), 'recipient'),
    (b) => b.addFile(clean.file).requireTableType('regexp').headerChecksOnSubmission(clean.info),
  ];

  function permutations<T>(items: readonly T[]): T[][] {
    if (items.length <= 1) return [[...items]];
    return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
  }

  it(`all ${permutations(STEPS).length} orders render the same bytes`, () => {
    const seen = new Set<string>();
    for (const order of permutations(STEPS)) {
      const b = new HostBuilder({ where: 'mail/mx' }).checkTlsAfterApply();
      for (const step of order) step(b);
      seen.add(bundleJson(b.toBundle().bundle));
    }
    expect(seen.size).toBe(1);
    expect([...seen][0]).toContain('-o smtpd_tls_security_level=encrypt');
  });
});
