/**
 * PostfixConfigError is the name the model, host builder and constructs have always thrown; it is
 * the same class as ConfigurationError in the package's error hierarchy (lib/errors.ts).
 */
export { ConfigurationError as PostfixConfigError } from '../errors';
