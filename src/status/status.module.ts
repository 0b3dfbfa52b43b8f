import { Global, Module } from '@nestjs/common';
import { StatusController } from './status.controller.js';
import { StatusListFetcher } from './list-fetcher.js';
import { StatusRepository } from './status.repository.js';
import { IndexBlockRepository } from './index-block.repository.js';
import { StatusService } from './status.service.js';
import { DataIntegrityStatusLists } from './data-integrity-list.js';

@Global()
@Module({
  controllers: [StatusController],
  providers: [StatusRepository, IndexBlockRepository, StatusService, StatusListFetcher, DataIntegrityStatusLists],
  exports: [StatusService, StatusListFetcher],
})
export class StatusModule {}
