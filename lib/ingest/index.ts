export { InvalidEventError, type KafkaEvent, kafkaEventSchema, recordsOfEvent } from './lambda-event.js';
export {
  type DecodedBatch,
  DLQ_HEADERS,
  deadLetter,
  decodeRecords,
  type InRecord,
  type Rejected,
} from './records.js';
