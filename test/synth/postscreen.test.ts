/** Issue 15 item 7 at synth: Postscreen's master.cf entries, main.cf parameters, DNSBL weights and validation. */
import { ServiceType } from '../../constructs/master-service';
import { TerraformStack, Testing } from 'cdktf';
import { PostfixHost, Postscreen, PostscreenProps } from '../../index';

const connection = { host: '192.0.2.10', privateKeyPath: '/keys/id_ed25519', knownHostsPath: '/keys/known_hosts' };

function hostWith(props: PostscreenProps) {
  const host = new PostfixHost(new TerraformStack(Testing.app(), 'test'), 'mx1', {
    connection,
    settings: { myhostname: 'mx1.example.org' },
  });
  new Postscreen(host, 'screen', props);
  return host;
}

test('master.cf: postscreen on smtp/inet, smtpd/pass, dnsblog and tlsproxy; pregreet enforced', () => {
  const host = hostWith({});
  const b = host.builder.toBundle().bundle;
  expect(b.masterCf.set['smtp/inet']).toBe('smtp inet n - y - 1 postscreen');
  expect(b.masterCf.set['smtpd/pass']).toBe('smtpd pass - - y - - smtpd');
  expect(b.masterCf.set['dnsblog/unix']).toBe('dnsblog unix - - y - 0 dnsblog');
  expect(b.masterCf.set['tlsproxy/unix']).toBe('tlsproxy unix - - y - 0 tlsproxy');
  expect(b.mainCf.set).toMatchObject({ postscreen_greet_wait: '6s', postscreen_greet_action: 'enforce' });
  expect(b.mainCf.set.postscreen_dnsbl_sites).toBeUndefined();
});

test('DNSBL sites with filters and weights, threshold and action', () => {
  const host = hostWith({
    greetWait: '3s',
    dnsblSites: [
      { domain: 'zen.spamhaus.org', filter: '127.0.0.[2..11]', weight: 3 },
      { domain: 'bl.spamcop.net' },
      { domain: 'list.dnswl.org', filter: '127.0.[0..255].[1..3]', weight: -5 },
    ],
    dnsblThreshold: 3,
  });
  expect(host.builder.toBundle().bundle.mainCf.set).toMatchObject({
    postscreen_greet_wait: '3s',
    postscreen_dnsbl_sites: 'zen.spamhaus.org=127.0.0.[2..11]*3, bl.spamcop.net, list.dnswl.org=127.0.[0..255].[1..3]*-5',
    postscreen_dnsbl_threshold: '3',
    postscreen_dnsbl_action: 'enforce',
  });
});

test.each([
  [{ greetWait: 'soon' }, 'Postscreen.greetWait = "soon": is not a positive Postfix time value'],
  [{ greetAction: 'reject' }, 'Postscreen.greetAction = "reject": is not a postscreen action'],
  [{ dnsblSites: [{ domain: 'zen spamhaus' }] }, 'Postscreen.dnsblSites[0].domain = "zen spamhaus": is not a fully qualified domain name'],
  [
    { dnsblSites: [{ domain: 'zen.spamhaus.org', weight: 0 }] },
    'Postscreen.dnsblSites[0].weight = "0": is not a whole number from -100 to 100 other than 0',
  ],
  [
    { dnsblSites: [{ domain: 'zen.spamhaus.org', filter: '127.0.0' }] },
    'Postscreen.dnsblSites[0].filter = "127.0.0": is not a DNSBL reply pattern',
  ],
  [
    { dnsblSites: [{ domain: 'zen.spamhaus.org', weight: 2 }], dnsblThreshold: 3 },
    'Postscreen.dnsblThreshold = "3": is not a whole number from 1 to 2',
  ],
  [{ dnsblThreshold: 2 }, 'Postscreen.dnsblThreshold = "2": is set without any dnsblSites'],
  [{ dnsblSites: [{ domain: 'zen.spamhaus.org' }], dnsblAction: 'block' }, 'Postscreen.dnsblAction = "block": is not a postscreen action'],
])('refuses bad input #%#', (props, message) => {
  expect(() => hostWith(props as PostscreenProps)).toThrow(`test/mx1/screen: ${message}`);
});

test('a second smtp/inet service conflicts, naming both sources', () => {
  const host = new PostfixHost(new TerraformStack(Testing.app(), 'test'), 'mx1', {
    connection,
    services: [{ name: 'smtp', type: ServiceType.INET, private: false, command: 'smtpd' }],
  });
  expect(() => new Postscreen(host, 'screen')).toThrow(/service smtp\/inet.*test\/mx1\/screen adds it/);
});
