// The last part of a TaskManager's log and of what its tasks printed, kept in memory (at most
// `limit` characters each) for the JobManager's REST API (/taskmanagers/:id/logs and /stdout).

export class OutputTail {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly limit = 1 << 20) {}

  append(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    while (this.size > this.limit && this.parts.length > 1) this.size -= this.parts.shift()!.length;
    if (this.size > this.limit) {
      const only = this.parts[0]!.slice(-this.limit);
      this.parts = [only];
      this.size = only.length;
    }
  }

  text(): string {
    return this.parts.join("");
  }
}
