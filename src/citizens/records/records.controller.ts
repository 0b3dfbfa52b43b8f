import { Body, Controller, Get, Header, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiProblemResponses } from '../../common/index.js';
import { RecordsService, startRecordsSchema } from './records.service.js';
import { recordsOutcomeSchema, startedRecordsSchema } from './records.schemas.js';

/** 用证记录: a citizen's view of every verification of their credential (ADR 16). */
@ApiTags('citizens')
@Controller('citizens/records')
export class RecordsController {
  constructor(private readonly records: RecordsService) {}

  @Post('requests')
  @HttpCode(201)
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Start proving possession of a credential (an OID4VP request for the wallet)' })
  @ApiBody({ schema: z.toJSONSchema(startRecordsSchema, { io: 'input' }) as object })
  @ApiCreatedResponse({ description: 'The request: link, QR code, read token', standardSchema: startedRecordsSchema })
  @ApiProblemResponses(400)
  start(@Body() body: unknown) {
    return this.records.start(body);
  }

  @Get('requests/:id')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: "Once the wallet's presentation is verified: every verification of that credential" })
  @ApiOkResponse({
    description: 'pending, expired, rejected (with reason) or verified (with records)',
    standardSchema: recordsOutcomeSchema,
  })
  @ApiProblemResponses(400, 404)
  outcome(@Param('id', new ParseUUIDPipe()) id: string, @Query('readToken') readToken: unknown) {
    return this.records.outcome(id, readToken);
  }
}
