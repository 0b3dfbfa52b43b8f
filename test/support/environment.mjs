// The jest test environment of every project: jest's Node environment, plus qrcode as Node itself loads it.
//
// Jest runs each test file's modules in a vm context, where every global lookup (Math, Buffer, …) goes through
// the context's interceptors: on Node 20 a hot loop that calls Math.abs runs some 60 times slower than outside.
// pngjs, behind qrcode's PNG output, calls Math.abs per byte in its row filters, so one 360-pixel QR code PNG took
// 3 s in a test (25 ms in Node) and the QR codes of offers and presentation requests were the largest single cost
// of the suite. The same qrcode package, loaded here by Node (outside the context), renders the same bytes at
// Node's speed; test/support/qrcode.mjs hands it to the code under test as the module `qrcode`. It is stateless
// (strings and options in, strings out), so sharing one instance between test files changes nothing.
import { createRequire } from 'node:module';
import NodeEnvironment from 'jest-environment-node';

const require = createRequire(import.meta.url);
const qrcode = require('qrcode');

export default class ChanceryEnvironment extends NodeEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global.__chanceryQrcode = qrcode;
  }
}
