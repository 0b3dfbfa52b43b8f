// The @swc transform of the service's TypeScript outside jest (jest.config.js has the same options in its own form):
// the loader hooks of register-ts.mjs, and the compiled tree of compile-children.mjs.
export const SWC_OPTIONS = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'es6' },
};
