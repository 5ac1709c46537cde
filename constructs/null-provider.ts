import { Construct } from 'constructs';
import { CDK_FLAVOUR, TerraformProvider, TerraformStack } from './cdk';
import type { Resource as NullResource, ResourceConfig as NullResourceConfig } from '@cdktf/provider-null/lib/resource';
import type { NullProvider } from '@cdktf/provider-null/lib/provider';
import { PostfixConfigError } from '../lib/model/errors';

export interface NullProviderModule {
  readonly NullProvider: typeof NullProvider;
  readonly Resource: new (scope: Construct, id: string, config: NullResourceConfig) => NullResource;
}

/** @cdktf/provider-null is an optional peer (cdktf only): loaded when a host asks for null_resource. */
export function loadNullProvider(where: string): NullProviderModule {
  const fix = 'use the default resourceType "terraform_data" (built into Terraform, works with cdktf and cdktn)';
  if (CDK_FLAVOUR !== 'cdktf') {
    throw new PostfixConfigError(
      where,
      'resourceType',
      'null_resource',
      `needs @cdktf/provider-null, which is built for cdktf and has no ${CDK_FLAVOUR} edition`,
      fix,
    );
  }
  try {
    /* eslint-disable @typescript-eslint/no-require-imports -- an optional peer dependency, loaded only when a host asks for null_resource */
    const { NullProvider } = require('@cdktf/provider-null/lib/provider') as Pick<NullProviderModule, 'NullProvider'>;
    const { Resource } = require('@cdktf/provider-null/lib/resource') as Pick<NullProviderModule, 'Resource'>;
    /* eslint-enable @typescript-eslint/no-require-imports */
    return { NullProvider, Resource };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    throw new PostfixConfigError(
      where,
      'resourceType',
      'null_resource',
      'needs the optional peer dependency @cdktf/provider-null, which is not installed',
      `run \`npm install @cdktf/provider-null\` in your app, or ${fix}`,
    );
  }
}

/** Declare the null provider once per stack, unless the user already declared a default (unaliased) one. */
export function ensureNullProvider(scope: Construct, provider: typeof NullProvider): void {
  const stack = TerraformStack.of(scope);
  const declared = stack.node
    .findAll()
    .some((c) => c instanceof TerraformProvider && c.terraformResourceType === 'null' && c.alias === undefined);
  if (!declared) new provider(stack, 'CdktfPostfixNullProvider');
}
