import { existsSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import { ConnectionSpec, connectionFromEnv } from '../model/connection';
import { UsageError } from '../errors';
import { PostfixConfigError } from '../model/errors';

/** One host found in a synthesized stack directory. */
export interface StackHost {
  /** Terraform address, e.g. terraform_data.mx1_apply_1A2B3C. */
  readonly address: string;
  /** Construct path of the host (from the resource's metadata). */
  readonly path: string;
  readonly bundlePath: string;
  readonly connection: ConnectionSpec;
  /** Environment the Terraform provisioner would pass (connection and fromEnv contents). */
  readonly env: Record<string, string>;
}

interface LocalExec {
  interpreter?: string[];
  command?: string;
  environment?: Record<string, string>;
  when?: string;
}

/** A host's resource as found in cdk.tf.json, before its connection is read. */
interface FoundHost {
  readonly address: string;
  readonly path: string;
  readonly exec: LocalExec & { command: string };
}

/**
 * Read the hosts of a synthesized stack (cdktf.out/stacks/NAME) without Terraform. With a target,
 * only the hosts it names are read: another host's connection may then be a value only Terraform
 * knows (a VM's address from another resource) without blocking work on this one.
 */
export function readStackHosts(stackDir: string, target?: string): StackHost[] {
  const found = selectHosts(findHosts(stackDir), target);
  return found.map(({ address, path, exec }) => {
    const env = resolveVariables(exec.environment ?? {}, process.env);
    const unresolved = Object.entries(env).filter(([, v]) => typeof v === 'string' && v.includes('${'));
    if (unresolved.length > 0) {
      throw new PostfixConfigError(
        address,
        unresolved.map(([k]) => k).join(', '),
        unresolved[0][1],
        'is known only when Terraform applies (it comes from another resource or a variable)',
        'deploy this stack with `cdktf deploy`, set TF_VAR_<name> for a ${var.<name>}, give the host a literal connection to use `cdktf-postfix apply`, or name another host with --target',
      );
    }
    return { address, path, bundlePath: resolve(stackDir, exec.command), connection: connectionFromEnv(env), env };
  });
}

function findHosts(stackDir: string): FoundHost[] {
  const file = join(stackDir, 'cdk.tf.json');
  if (!existsSync(file)) {
    const problem = existsSync(stackDir) ? 'no cdk.tf.json in it' : 'no such directory';
    throw new PostfixConfigError(
      stackDir,
      'stack directory',
      stackDir,
      problem,
      'pass a synthesized stack directory such as cdktf.out/stacks/mail (run `cdktf synth` first)',
    );
  }
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    resource?: Record<string, Record<string, { provisioner?: { 'local-exec'?: LocalExec }[]; '//'?: { metadata?: { path?: string } } }>>;
  };
  const hosts: FoundHost[] = [];
  for (const [type, resources] of Object.entries(json.resource ?? {})) {
    if (type !== 'terraform_data' && type !== 'null_resource') continue;
    for (const [name, resource] of Object.entries(resources)) {
      const exec = (resource.provisioner ?? [])
        .map((p) => p['local-exec'])
        .find((p) => p && p.when !== 'destroy' && p.interpreter?.some((a) => a.endsWith('cdktf-postfix-runner.js')));
      if (!exec || !exec.command) continue;
      const address = `${type}.${name}`;
      const path = (resource['//']?.metadata?.path ?? address).replace(/\/apply$/, '');
      hosts.push({ address, path, exec: { ...exec, command: exec.command } });
    }
  }
  return hosts;
}

/**
 * `${var.NAME}` inside a value takes TF_VAR_NAME from the environment, as Terraform would (how a
 * sensitive variable such as a TLS key reaches `cdktf-postfix apply`); other expressions stay.
 */
function resolveVariables(env: Record<string, string>, variables: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    out[k] =
      typeof v !== 'string'
        ? v
        : v.replace(/\$\{var\.([A-Za-z_][A-Za-z0-9_-]*)\}/g, (whole, name: string) => variables[`TF_VAR_${name}`] ?? whole);
  }
  return out;
}

/** Hosts whose construct path, last path segment or Terraform address equals the target. */
export function selectHosts<H extends { readonly address: string; readonly path: string }>(hosts: H[], target: string | undefined): H[] {
  if (!target) return hosts;
  const chosen = hosts.filter((h) => h.path === target || h.address === target || h.path.split('/').pop() === target);
  if (chosen.length === 0) {
    throw UsageError.of(
      '--target',
      target,
      'no host in the stack has that id',
      `use one of: ${hosts.map((h) => h.path.split('/').pop()).join(', ')}`,
    );
  }
  return chosen;
}
