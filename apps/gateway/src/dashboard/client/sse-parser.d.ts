// Types of sse-parser.js (plain JavaScript served to the browser as is) for the TypeScript that imports it.
export interface SseEvent {
  event: string;
  data: string;
  id: string;
}
export function createSseParser(onEvent: (e: SseEvent) => void): { push(chunk: string): void; lastEventId(): string };
