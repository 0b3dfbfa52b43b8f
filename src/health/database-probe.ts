import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DatabaseOutage } from '../common/index.js';
import { Database } from '../persistence/index.js';

/** While requests see the database as down, pings it every second and reports when it answers again. */
@Injectable()
export class DatabaseProbe implements OnModuleInit, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private pinging = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly db: Database,
    private readonly outage: DatabaseOutage,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.outage.onChange((down) => (down ? this.start() : this.stop()));
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      // One ping at a time: pings that hang while the database is away would otherwise queue up, one a second.
      if (this.pinging) return;
      this.pinging = true;
      this.db
        .ping()
        .then(
          () => this.outage.reportUp(),
          () => undefined,
        )
        .finally(() => (this.pinging = false));
    }, 1_000);
    this.timer.unref();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  onApplicationShutdown(): void {
    this.unsubscribe?.();
    this.stop();
  }
}
