import { Global, Module, type DynamicModule } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Database } from './database.js';

@Global()
@Module({})
export class PersistenceModule {
  /** The DataSource is opened (and migrated) before Nest starts, so a bad database fails fast. */
  static forRoot(dataSource: DataSource): DynamicModule {
    return {
      module: PersistenceModule,
      providers: [{ provide: DataSource, useValue: dataSource }, Database],
      exports: [DataSource, Database],
    };
  }
}
