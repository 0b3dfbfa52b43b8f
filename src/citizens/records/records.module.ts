import { Module } from '@nestjs/common';
import { PresentationModule } from '../../verifier/index.js';
import { CitizenLoginRepository } from '../login/login.repository.js';
import { RecordsController } from './records.controller.js';
import { RecordsPageController } from './records-page.controller.js';
import { RecordsService } from './records.service.js';

/** The holders' usage log page (用证记录); its internal relying party's key is kept with the login settings. */
@Module({
  imports: [PresentationModule],
  controllers: [RecordsController, RecordsPageController],
  providers: [CitizenLoginRepository, RecordsService],
})
export class CitizenRecordsModule {}
