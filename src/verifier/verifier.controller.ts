import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { parseOrThrow } from '../common/index.js';
import { VerifierService } from './verifier.service.js';
import { verifyResponse } from './verify-response.js';

/**
 * A compact credential or presentation (JWT, SD-JWT), or a JSON object: an EnvelopedVerifiableCredential /
 * EnvelopedVerifiablePresentation, or a document with a Data Integrity proof. Its rules are checked by the
 * verifier, which reports every violation; the body size limit bounds it.
 */
const securedDocument = z.union([z.string().min(1), z.looseObject({})]);

const verifyCredentialSchema = z.object({
  verifiableCredential: securedDocument,
  options: z
    .looseObject({
      checks: z.array(z.string()).optional(),
      expectedProofPurpose: z.string().min(1).max(100).optional(),
      challenge: z.string().min(1).max(512).optional(),
      domain: z.string().min(1).max(512).optional(),
    })
    .optional(),
});
const verifyPresentationSchema = z.object({
  verifiablePresentation: securedDocument,
  options: z
    .looseObject({
      challenge: z.string().min(1).max(512).optional().describe('the nonce the holder had to sign (checked when given)'),
      domain: z.string().min(1).max(512).optional().describe('the audience the holder addressed (checked when given)'),
    })
    .optional(),
});

const RESULT_STATUSES = {
  200: 'verified',
  400: 'not verified: malformed (format, data model) or a check failed (signature, issuer trust, validity, status, holder binding); the body lists every problem',
  503: 'a check could not be made (chain or DID host unreachable); retry',
};

@ApiTags('verify (W3C VC-API)')
@Controller()
export class VerifierController {
  constructor(private readonly verifier: VerifierService) {}

  @Post('credentials/verify')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Verify a credential (vc+jwt, SD-JWT, enveloped, Data Integrity): data model, issuer trust (chain registry or trust anchor), signature, validity, type, schema, status',
  })
  @ApiBody({ schema: z.toJSONSchema(verifyCredentialSchema, { io: 'input' }) as object })
  @ApiResponse({ status: 200, description: RESULT_STATUSES[200] })
  @ApiResponse({ status: 400, description: RESULT_STATUSES[400] })
  @ApiResponse({ status: 503, description: RESULT_STATUSES[503] })
  async verifyCredential(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { verifiableCredential, options } = parseOrThrow(verifyCredentialSchema, body);
    const { expectedProofPurpose, challenge, domain } = options ?? {};
    const result = await this.verifier.verifyCredentialDocument(
      verifiableCredential,
      {
        expectedProofPurpose,
        challenge,
        domain,
      },
      'threadpool-when-busy',
    );
    return this.answer(result, reply);
  }

  @Post('presentations/verify')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Verify a presentation (SD-JWT + KB-JWT, vp+jwt, vp+sd-jwt, enveloped, Data Integrity) and each credential in it; challenge and domain checked when given',
  })
  @ApiBody({ schema: z.toJSONSchema(verifyPresentationSchema, { io: 'input' }) as object })
  @ApiResponse({ status: 200, description: RESULT_STATUSES[200] })
  @ApiResponse({ status: 400, description: RESULT_STATUSES[400] })
  @ApiResponse({ status: 503, description: RESULT_STATUSES[503] })
  async verifyPresentation(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { verifiablePresentation, options } = parseOrThrow(verifyPresentationSchema, body);
    const result = await this.verifier.verifyPresentationDocument(
      verifiablePresentation,
      {
        nonce: options?.challenge,
        audience: options?.domain,
        // VC-API leaves "the subject is the holder" to the caller; a credential bound to another key still fails.
        requireBoundCredentials: false,
      },
      'threadpool-when-busy',
    );
    return this.answer(result, reply, { challenged: options?.challenge !== undefined });
  }

  private answer(result: Parameters<typeof verifyResponse>[0], reply: FastifyReply, options?: { challenged: boolean }) {
    const { status, body } = verifyResponse(result, options);
    void reply.status(status);
    if (status === 503) void reply.header('retry-after', '5');
    return body;
  }
}
