// The simulator's worker threads start here: plain JavaScript that registers tsx, then loads the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
