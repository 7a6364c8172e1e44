export { mapLimit, Semaphore } from './concurrency.js';
export { formatIssues, formatPath } from './zod.js';
