import { parseResolvableDid } from './did-syntax.js';

const network = { name: 'govchain', chainId: 7777 };
const address = '0x5B38Da6a701c568545dCfcB03FcB875f56beddC4';

describe('parseResolvableDid', () => {
  it('accepts a did:ethr on our network, by name or hex chain id, with a versionId and fragment', () => {
    expect(parseResolvableDid(`did:ethr:govchain:${address}`, network)).toEqual({
      ok: true,
      did: `did:ethr:govchain:${address}`,
      address,
    });
    expect(parseResolvableDid(`did:ethr:govchain:${address.toLowerCase()}#controller`, network)).toMatchObject({
      ok: true,
      did: `did:ethr:govchain:${address.toLowerCase()}`,
      address,
    });
    expect(parseResolvableDid(`did:ethr:0x1e61:${address}?versionId=12`, network)).toMatchObject({ ok: true, versionId: 12 });
  });

  it.each([
    ['a wrong EIP-55 checksum', `did:ethr:govchain:${address.slice(0, -1)}c`, 'invalidDid'],
    ['another network', `did:ethr:mainnet:${address}`, 'notFound'],
    ['no network', `did:ethr:${address}`, 'notFound'],
    ['another method', 'did:web:example.com', 'methodNotSupported'],
    ['a very long string', `did:ethr:govchain:${'0'.repeat(10_000)}`, 'invalidDid'],
    ['percent-encoding', `did:ethr:govchain:${address}%3FversionId%3D1`, 'invalidDid'],
    ['unicode', `did:ethr:govchain:${address}é`, 'invalidDid'],
    ['a space', `did:ethr:govchain: ${address}`, 'invalidDid'],
    ['not a DID', 'hello', 'invalidDid'],
    ['a short address', 'did:ethr:govchain:0x1234', 'invalidDid'],
    ['another query', `did:ethr:govchain:${address}?service=x`, 'invalidDid'],
    ['a non-numeric versionId', `did:ethr:govchain:${address}?versionId=latest`, 'invalidDid'],
    ['a public key off the curve', `did:ethr:govchain:0x02${'ff'.repeat(32)}`, 'invalidDid'],
    ['an empty string', '', 'invalidDid'],
  ])('refuses %s', (_, did, error) => {
    expect(parseResolvableDid(did, network)).toMatchObject({ ok: false, error });
  });
});
