/**
 * Tells whether a value is known only at deploy time (a cdktf token, say). The core cannot import
 * cdktf, so the adapter injects its own test (cdktf: `Token.isUnresolved`); plain programs have no
 * such values.
 */
export type IsUnresolved = (value: unknown) => boolean;

export const neverUnresolved: IsUnresolved = () => false;
