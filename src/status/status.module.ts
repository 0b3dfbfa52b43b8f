import { Global, Module } from '@nestjs/common';
import { StatusController } from './status.controller.js';
import { StatusListFetcher } from './list-fetcher.js';
import { StatusRepository } from './status.repository.js';
import { IndexBlockRepository } from './index-block.repository.js';
import { StatusService } from './status.service.js';
import { StatusIndexAllocator } from './index-allocator.js';
import { StatusListPublisher } from './list-publisher.js';
import { DataIntegrityStatusLists } from './data-integrity-list.js';
import { ServedLists } from './served-lists.js';

@Global()
@Module({
  controllers: [StatusController],
  providers: [
    StatusRepository,
    IndexBlockRepository,
    StatusIndexAllocator,
    StatusListPublisher,
    StatusService,
    StatusListFetcher,
    DataIntegrityStatusLists,
    ServedLists,
  ],
  exports: [StatusService, StatusListFetcher],
})
export class StatusModule {}
