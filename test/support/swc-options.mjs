// The @swc transform of the service's TypeScript: jest's (jest.config.js), the loader hooks of register-ts.mjs, and the
// compiled tree of compile-children.mjs, so that a child process runs exactly what jest runs.
export const SWC_OPTIONS = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'es6' },
};
