// Signs on the signing thread without closing it, then leaves the event loop empty: the process must exit
// by itself (src/keys/signing-thread.spec.ts). Prints each signature's length as it comes back.
import { generateKeyPairSync } from 'node:crypto';
import { SigningThread } from '../../src/keys/signing-thread.js';

const thread = new SigningThread();
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signatures = await Promise.all([1, 2, 3].map((i) => thread.sign(privateKey, Buffer.from(`message ${i}`))));
console.log(signatures.map((signature) => signature.length).join(' '));
