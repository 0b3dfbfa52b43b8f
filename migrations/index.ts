import { CreateFoundation1764000000000 } from './1764000000000-CreateFoundation.js';

/** Every migration, oldest first. New migrations are appended here. */
export const migrations = [CreateFoundation1764000000000];
