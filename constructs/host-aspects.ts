import { IConstruct } from 'constructs';
import { IAspect } from './cdk';

/**
 * Aspects meant for every PostfixHost under a scope, whenever the hosts and their stacks are created.
 * cdktf runs aspects from each stack down (an aspect on the App itself never runs), so an aspect added
 * to the App before its stacks exist would be lost. Registered here instead, each host runs them on
 * itself when its stack is synthesized, whatever the order of the program.
 */
const registered = new WeakMap<IConstruct, IAspect[]>();

export function registerHostAspect(scope: IConstruct, aspect: IAspect): void {
  const list = registered.get(scope) ?? [];
  if (!list.includes(aspect)) list.push(aspect);
  registered.set(scope, list);
}

/** The aspects registered on `host` or any scope above it. */
export function hostAspectsFor(host: IConstruct): IAspect[] {
  return host.node.scopes.flatMap((scope) => registered.get(scope) ?? []);
}
