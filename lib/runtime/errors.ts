/** An answer to send instead of the normal one: the status, a message, and one line per problem. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(message);
  }
}
