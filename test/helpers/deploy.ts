import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, TerraformStack, Testing } from 'cdktf';
import { HostReport } from '../../lib/apply/apply';
import { applyStackHost, diffStackHost, HostDiffResult } from '../../lib/apply/hosts';
import { readStackHosts } from '../../lib/apply/stack';

/** Synthesize one stack into a fresh directory; returns the stack directory. */
export function synthStack(build: (stack: TerraformStack) => void, stackName = 'mail'): string {
  const outdir = mkdtempSync(join(tmpdir(), 'cdktf-postfix-synth-'));
  const app = new App({ outdir, skipValidation: false });
  const stack = new TerraformStack(app, stackName);
  build(stack);
  app.synth();
  return join(outdir, 'stacks', stackName);
}

/** Apply every host of a synthesized stack (the same code path as `cdktf-postfix apply`). */
export async function applyStack(stackDir: string): Promise<HostReport[]> {
  return Promise.all(readStackHosts(stackDir).map(applyStackHost));
}

export async function diffStack(stackDir: string): Promise<HostDiffResult[]> {
  return Promise.all(readStackHosts(stackDir).map(diffStackHost));
}

/** The connection props for a lab host. */
export function labConnection(h: { address: string; privateKeyPath: string; knownHostsPath: string }) {
  return { host: h.address, privateKeyPath: h.privateKeyPath, knownHostsPath: h.knownHostsPath };
}

/** The message a full synthesis (validations included) fails with, or '' when it succeeds. */
export function synthErrors(stack: TerraformStack): string {
  try {
    Testing.fullSynth(stack);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}
