export { mapLimit, Semaphore } from './concurrency.js';
export { mulberry32 } from './random.js';
export { alignColumns } from './table.js';
export {
  type DescribeOptions,
  describeIssues,
  describeValue,
  formatIssues,
  formatPath,
  type Problem,
} from './zod.js';
