import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { parseOrThrow } from '../common/index.js';
import { VerifierService } from './verifier.service.js';

/** A compact credential, or a VC 2.0 EnvelopedVerifiableCredential / Presentation carrying one in a data: URL. */
const envelopedOrCompact = z.union([
  z.string().min(1),
  z
    .looseObject({ id: z.string().regex(/^data:application\/[a-z0-9.+-]+,/, 'must be a data: URL') })
    .transform((value) => value.id.slice(value.id.indexOf(',') + 1)),
]);

const verifyCredentialSchema = z.object({ verifiableCredential: envelopedOrCompact, options: z.looseObject({}).optional() });
const verifyPresentationSchema = z.object({
  verifiablePresentation: envelopedOrCompact,
  options: z.object({
    challenge: z.string().min(1).max(512).describe('the nonce the holder had to sign'),
    domain: z.string().min(1).max(512).describe('the audience (our client id) the holder addressed'),
  }),
});

@ApiTags('verify (W3C VC-API)')
@Controller()
export class VerifierController {
  constructor(private readonly verifier: VerifierService) {}

  @Post('credentials/verify')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Verify a credential: signature via the issuer DID on chain, kid, validity, type, schema, authorisation, status',
  })
  @ApiBody({ schema: z.toJSONSchema(verifyCredentialSchema, { io: 'input' }) as object })
  verifyCredential(@Body() body: unknown) {
    const { verifiableCredential } = parseOrThrow(verifyCredentialSchema, body);
    return this.verifier.verifyCredential(verifiableCredential);
  }

  @Post('presentations/verify')
  @HttpCode(200)
  @ApiOperation({ summary: 'Verify a presentation (SD-JWT VC + KB-JWT, or JWT VP) for a challenge and domain' })
  @ApiBody({ schema: z.toJSONSchema(verifyPresentationSchema, { io: 'input' }) as object })
  verifyPresentation(@Body() body: unknown) {
    const { verifiablePresentation, options } = parseOrThrow(verifyPresentationSchema, body);
    return this.verifier.verifyPresentation(verifiablePresentation, { nonce: options.challenge, audience: options.domain });
  }
}
