import { Inject, Injectable } from '@nestjs/common';
import { DATABASE, type Database, type Db } from './database.js';

/**
 * What services get instead of the database: a transaction to hand to repositories. SQL, locks and
 * transactions' contents live in repositories; a service only says which calls belong together.
 */
@Injectable()
export class UnitOfWork {
  constructor(@Inject(DATABASE) private readonly database: Database) {}

  transaction<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    return this.database.db.transaction(work);
  }

  /** Outside any transaction, for a single read (each statement commits on its own). */
  get db(): Db {
    return this.database.db;
  }
}
