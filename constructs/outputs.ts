import { Construct } from 'constructs';
import { TerraformOutput, TerraformStack } from './cdk';
import { PostfixConfigError } from '../lib/model/errors';

const OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A Terraform output name from a prefix and a key (`-` becomes `_`); the prefix is checked (Terraform: a letter or _, then letters, digits, _ and -). */
export function outputName(where: string, field: string, prefix: string, key: string): string {
  if (!OUTPUT_NAME.test(prefix)) {
    throw new PostfixConfigError(
      where,
      field,
      prefix,
      'is not a Terraform output name prefix',
      'start with a letter or _ and use only letters, digits, _ and -, e.g. mx1',
    );
  }
  return `${prefix}_${key}`.replace(/-/g, '_');
}

/**
 * A TerraformOutput named exactly `name` (what `terraform output NAME` and cdktf's outputs file
 * show). Two outputs of one stack with the same name would silently overwrite each other in
 * cdk.tf.json, so synthesis fails instead, naming both constructs and the field to change.
 */
export function uniqueOutput(
  scope: Construct,
  id: string,
  name: string,
  field: string,
  props: { value: unknown; description: string },
): TerraformOutput {
  const output = new TerraformOutput(scope, id, props);
  output.overrideLogicalId(name);
  scope.node.addValidation({
    validate: () => {
      const others = TerraformStack.of(scope)
        .node.findAll()
        .filter((c): c is TerraformOutput => c instanceof TerraformOutput && c !== output && c.friendlyUniqueId === name);
      return others.map(
        (o) =>
          new PostfixConfigError(
            scope.node.path,
            field,
            name,
            `names a Terraform output that ${o.node.path} also writes (one would overwrite the other)`,
            `give each host (or MailDnsRecords) in the stack its own ${field}`,
          ).message,
      );
    },
  });
  return output;
}
