import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiProblemResponses } from '../../common/index.js';
import { OperatorGuard } from '../agencies/auth.js';
import {
  credentialTypeDetailSchema,
  credentialTypeInputSchema,
  credentialTypeSchema,
  credentialTypeVersionInputSchema,
} from './catalogue.schemas.js';
import { CatalogueAdministration } from './catalogue-administration.js';

const typeParam = ApiParam({ name: 'id', description: 'The catalogue type id, e.g. driving-licence' });

/** The run-time licence catalogue, managed by the operator: create, version, retire. */
@ApiTags('operator')
@ApiBearerAuth()
@ApiProblemResponses(401)
@UseGuards(OperatorGuard)
@Controller('operator/catalogue')
export class CatalogueController {
  constructor(private readonly catalogue: CatalogueAdministration) {}

  @Get()
  @ApiOperation({ summary: 'Every credential type of the catalogue, retired ones too' })
  @ApiOkResponse({ description: 'The types', standardSchema: z.array(credentialTypeSchema) })
  list() {
    return this.catalogue.list();
  }

  @Get(':id')
  @ApiOperation({ summary: 'One credential type with its published versions and their schema digests' })
  @typeParam
  @ApiOkResponse({ description: 'The type', standardSchema: credentialTypeDetailSchema })
  @ApiProblemResponses(404)
  show(@Param('id') id: string) {
    return this.catalogue.show(id);
  }

  @Post()
  @ApiOperation({ summary: 'Create a credential type (version 1); OID4VCI metadata lists it at once' })
  @ApiBody({ schema: z.toJSONSchema(credentialTypeInputSchema, { io: 'input' }) as object })
  @ApiCreatedResponse({ description: 'The type', standardSchema: credentialTypeSchema })
  @ApiProblemResponses(400, 409)
  create(@Body() body: unknown) {
    return this.catalogue.create(body);
  }

  @Post(':id/versions')
  @ApiOperation({ summary: 'Publish a new version of a type (schema, display, formats, validity); the W3C type stays' })
  @typeParam
  @ApiBody({ schema: z.toJSONSchema(credentialTypeVersionInputSchema, { io: 'input' }) as object })
  @ApiCreatedResponse({ description: 'The type at its new version', standardSchema: credentialTypeSchema })
  @ApiProblemResponses(400, 404, 409)
  publishVersion(@Param('id') id: string, @Body() body: unknown) {
    return this.catalogue.publishVersion(id, body);
  }

  @Post(':id/retire')
  @HttpCode(200)
  @ApiOperation({ summary: 'Retire a type: new issuance refused (credential_type_retired), issued credentials still verify' })
  @typeParam
  @ApiOkResponse({ description: 'The retired type', standardSchema: credentialTypeSchema })
  @ApiProblemResponses(404)
  retire(@Param('id') id: string) {
    return this.catalogue.retire(id);
  }
}
