import { contexts as credentialsContexts } from '@digitalbazaar/credentials-context';
import credentialsExamplesContext from '@digitalbazaar/credentials-examples-context';
import odrlContext from '@digitalbazaar/odrl-context';
import dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import multikeyContext from '@digitalbazaar/multikey-context';
import securityContext from '@digitalbazaar/security-context';
import { contexts as statusListContexts } from '@digitalbazaar/vc-bitstring-status-list-context';

export const DID_V1_CONTEXT = 'https://www.w3.org/ns/did/v1';
export const MULTIKEY_V1_CONTEXT = 'https://w3id.org/security/multikey/v1';
export const DATA_INTEGRITY_V2_CONTEXT = 'https://w3id.org/security/data-integrity/v2';
export const JWS_2020_V1_CONTEXT = 'https://w3id.org/security/suites/jws-2020/v1';
export const EXAMPLES_V2_CONTEXT = 'https://www.w3.org/ns/credentials/examples/v2';

/** The VCDM 2.0 examples context (W3C, used by the conformance suites): every undefined term in the examples vocabulary. */
const examplesV2 = { '@context': { '@vocab': 'https://www.w3.org/ns/credentials/examples#' } };

/** W3C DID v1 context (DID Core §4.1), as published at https://www.w3.org/ns/did/v1. */
const didV1 = {
  '@context': {
    '@protected': true,
    id: '@id',
    type: '@type',
    alsoKnownAs: { '@id': 'https://www.w3.org/ns/activitystreams#alsoKnownAs', '@type': '@id' },
    assertionMethod: { '@id': 'https://w3id.org/security#assertionMethod', '@type': '@id', '@container': '@set' },
    authentication: { '@id': 'https://w3id.org/security#authenticationMethod', '@type': '@id', '@container': '@set' },
    capabilityDelegation: { '@id': 'https://w3id.org/security#capabilityDelegationMethod', '@type': '@id', '@container': '@set' },
    capabilityInvocation: { '@id': 'https://w3id.org/security#capabilityInvocationMethod', '@type': '@id', '@container': '@set' },
    controller: { '@id': 'https://w3id.org/security#controller', '@type': '@id' },
    keyAgreement: { '@id': 'https://w3id.org/security#keyAgreementMethod', '@type': '@id', '@container': '@set' },
    service: {
      '@id': 'https://www.w3.org/ns/did#service',
      '@type': '@id',
      '@context': {
        '@protected': true,
        id: '@id',
        type: '@type',
        serviceEndpoint: { '@id': 'https://www.w3.org/ns/did#serviceEndpoint', '@type': '@id' },
      },
    },
    verificationMethod: { '@id': 'https://w3id.org/security#verificationMethod', '@type': '@id' },
  },
};

/**
 * Every JSON-LD context a Data Integrity proof may need, bundled: credentials v1/v2, the VCDM 2.0 and 1.1 examples
 * contexts (1.1's imports ODRL's), Data Integrity v1/v2, Multikey, Bitstring Status List v1, DID v1 and security
 * v1/v2. Nothing else is ever loaded: an unknown context URL fails verification, it is never fetched.
 */
export const BUNDLED_CONTEXTS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ...credentialsContexts,
  ...credentialsExamplesContext.contexts,
  ...odrlContext.contexts,
  ...dataIntegrityContext.contexts,
  ...multikeyContext.contexts,
  ...securityContext.contexts,
  ...statusListContexts,
  [EXAMPLES_V2_CONTEXT, examplesV2],
  [DID_V1_CONTEXT, didV1],
]);
