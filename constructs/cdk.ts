/**
 * The one place the constructs name their CDK flavour. Every construct imports cdktf's API from here,
 * never straight from the cdktf package: the build (scripts/build-cdktn.js) copies the compiled constructs to
 * dist/cdktn/ and rewrites only this module to load 'cdktn' (the community successor, same API under
 * new package names), so `cdktf-postfix` and `cdktf-postfix/cdktn` are built from the same code.
 */
export * from 'cdktf';

/** The flavour these constructs were built for: 'cdktf' here, 'cdktn' in dist/cdktn/. */
export const CDK_FLAVOUR: 'cdktf' | 'cdktn' = 'cdktf';
