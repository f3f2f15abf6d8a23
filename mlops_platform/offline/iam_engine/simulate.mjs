// Reads iam-simulate Simulations on stdin, one JSON document per line, and writes one decision per line on stdout:
// {"decision": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" | null, "errors": [...]}.
// Line by line, so that no request batch meets V8's limit on one string's length (512 MB).
import { createInterface } from 'node:readline'
import { runSimulation } from '@cloud-copilot/iam-simulate'

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (line.trim() === '') continue
  const response = await runSimulation(JSON.parse(line), {})
  const decision = response.resultType === 'error'
    ? { decision: null, errors: [JSON.stringify(response.errors)] }
    : { decision: response.overallResult, errors: [] }
  if (!process.stdout.write(JSON.stringify(decision) + '\n')) {
    await new Promise((resolve) => process.stdout.once('drain', resolve))
  }
}
