// The module `qrcode` in tests (jest.config.js moduleNameMapper): the package as Node loaded it, outside jest's vm
// context, where its PNG encoding runs at full speed (see test/support/environment.mjs).
const qrcode = globalThis.__chanceryQrcode;
if (!qrcode) throw new Error('qrcode is provided by test/support/environment.mjs (jest.config.js testEnvironment)');
export default qrcode;
