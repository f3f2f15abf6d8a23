// Reads a JSON array of iam-simulate Simulations on stdin and writes one decision per simulation on stdout:
// {"decision": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" | null, "errors": [...]}.
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const simulations = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const decisions = []
for (const simulation of simulations) {
  const response = await runSimulation(simulation, {})
  if (response.resultType === 'error') {
    decisions.push({ decision: null, errors: [JSON.stringify(response.errors)] })
  } else {
    decisions.push({ decision: response.overallResult, errors: [] })
  }
}
process.stdout.write(JSON.stringify(decisions))
