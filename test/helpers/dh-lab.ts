/**
 * Shared by the DH lab proofs (dh.test.ts, dh-schedule.test.ts): a lab host made ready for
 * DhParameters, and a DHE handshake that reads the group the server really uses off the wire.
 *
 * Keeping them lean on a shared machine: real `openssl dhparam 2048` takes 13-57 s here and is
 * already run by test/unit/dh.test.ts through the same script. So inside the lab host's private
 * mount namespace (and only there), /usr/bin/openssl is bind-mounted with a wrapper that answers
 * exactly `openssl dhparam -out FILE BITS` with an RFC 7919 group, ffdhe3072 and ffdhe4096 in turn:
 * instant, PKCS#3 like dhparam's output, safe primes that pass `openssl dhparam -check`, each one
 * different from the one before, and never the ffdhe2048 that OpenSSL falls back to for a 2048-bit
 * RSA key when the file cannot be used. Every other call goes to the real binary. While the file
 * `slowMarker` exists, a generation first records "PID PPID" in `slowPidFile` and sleeps (a rotation
 * caught mid-generation). /etc/cron.d, /usr/local/sbin and /etc/systemd/system are not lab-host
 * directories, so they are bind-mounted over with private directories too: nothing is installed on
 * the machine itself.
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { TerraformStack, TerraformVariable } from 'cdktf';
import { LabHost } from '../lab';
import { PostfixHost } from '../../constructs/postfix-host';
import { TlsPolicy, TlsProfile } from '../../constructs/tls-policy';
import { DhParameters, DhParametersProps } from '../../constructs/dh-parameters';
import { labConnection, synthStack } from './deploy';
import { tlsHandshake } from '../../lib/probe/tls-check';
import { run } from './run';
import { selfSigned } from './certs';

export interface DhLabHost {
  /** While this file exists, the stand-in's `dhparam -out` sleeps (after writing slowPidFile). */
  slowMarker: string;
  /** "PID PPID" of a sleeping stand-in: PPID is the rotation script that called it. */
  slowPidFile: string;
}

/** Runs argv inside the host; throws with stderr on a non-zero exit. */
export async function hostExec(h: LabHost, argv: string[]): Promise<string> {
  const r = await h.exec(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Private cron.d, sbin and systemd directories, and the openssl stand-in (unless realDh). */
export async function prepareDhLabHost(h: LabHost, dir: string, realDh: boolean): Promise<DhLabHost> {
  for (const [name, target] of [
    ['cron.d', '/etc/cron.d'],
    ['sbin', '/usr/local/sbin'],
    ['systemd', '/etc/systemd/system'],
  ]) {
    mkdirSync(join(dir, name), { mode: 0o755 });
    await hostExec(h, ['mount', '--bind', join(dir, name), target]);
  }
  const hooks = { slowMarker: join(dir, 'slow'), slowPidFile: join(dir, 'slow.pid') };
  if (realDh) return hooks;
  const real = join(dir, 'openssl.real');
  copyFileSync('/usr/bin/openssl', real);
  chmodSync(real, 0o755);
  const counter = join(dir, 'dhparam-calls');
  writeFileSync(
    join(dir, 'openssl'),
    `#!/bin/sh
# Test stand-in (test/helpers/dh-lab.ts): 'dhparam -out FILE BITS' gets an RFC 7919 group; the rest is real openssl.
if [ $# -eq 4 ] && [ "$1" = dhparam ] && [ "$2" = -out ]; then
  if [ -e ${hooks.slowMarker} ]; then echo "$$ $PPID" > ${hooks.slowPidFile}; sleep 600; fi
  n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${counter}
  case $((n % 2)) in 1) g=ffdhe3072 ;; *) g=ffdhe4096 ;; esac
  exec ${real} genpkey -genparam -algorithm DH -pkeyopt group:$g -out "$3"
fi
exec ${real} "$@"
`,
    { mode: 0o755 },
  );
  await hostExec(h, ['mount', '--bind', join(dir, 'openssl'), '/usr/bin/openssl']);
  return hooks;
}

/** dh_p from the first TLS 1.2 ServerKeyExchange in `openssl s_client -msg` output. */
function serverKeyExchangePrime(msgOutput: string): Buffer | undefined {
  const lines = msgOutput.split('\n');
  const at = lines.findIndex((l) => /^<<< TLS 1\.2, Handshake \[length [0-9a-f]+\], ServerKeyExchange/.test(l));
  if (at < 0) return undefined;
  const hex: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!/^\s+[0-9a-f]{2}( [0-9a-f]{2})*\s*$/.test(l)) break;
    hex.push(...l.trim().split(/\s+/));
  }
  const bytes = Buffer.from(hex.join(''), 'hex');
  // handshake type (0x0c), 3-byte length, then ServerDHParams: dh_p<1..2^16-1>, dh_g, dh_Ys.
  if (bytes[0] !== 0x0c) return undefined;
  const pLen = bytes.readUInt16BE(4);
  return bytes.subarray(6, 6 + pLen);
}

const DHE_CIPHERS = 'DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256';

/**
 * A TLS 1.2 DHE handshake on port 25 (STARTTLS): what was negotiated (node's tls, as tls-check
 * sees it), and the group's prime, which no TLS API exposes: that one comes from a second
 * handshake's ServerKeyExchange as `openssl s_client -msg` dumps it.
 */
export async function dheHandshake(address: string) {
  const facts = await tlsHandshake(
    { host: address, port: 25, mode: 'starttls' },
    { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: DHE_CIPHERS },
  );
  const r = await run('openssl', [
    's_client',
    '-connect',
    `${address}:25`,
    '-starttls',
    'smtp',
    '-tls1_2',
    '-cipher',
    DHE_CIPHERS,
    '-brief',
    '-msg',
  ]);
  const text = `${r.stdout}\n${r.stderr}`;
  return { ...facts, prime: serverKeyExchangePrime(text), text };
}

/** A self-signed RSA 2048 key and certificate for CN=host1.lab.test, written into dir. */
export function selfSignedRsa(dir: string): { keyPem: string; certPem: string } {
  return selfSigned(dir, { cn: 'host1.lab.test', days: 3 });
}

/**
 * A stack with the legacyOldClients TLS profile (the only one that offers DHE) and DhParameters.
 * The key is a token, resolved at apply time from TF_VAR_tls_key (never written into the stack).
 */
export function dhStack(h: LabHost, certPem: string, dh: DhParametersProps): string {
  return synthStack((stack: TerraformStack) => {
    const host = new PostfixHost(stack, 'mx', { connection: labConnection(h) });
    const key = new TerraformVariable(stack, 'tls_key', { type: 'string', sensitive: true });
    new TlsPolicy(host, 'tls', {
      profile: TlsProfile.LEGACY_OLD_CLIENTS,
      certificates: [{ privateKeyPem: key.stringValue, certificatePem: certPem }],
    });
    new DhParameters(host, 'dh', dh);
  });
}
