/**
 * One run of the contact-centre simulation (bench/lib/contact-centre.ts) in
 * a child process of the benchmark: it gets the model and the setup as its
 * one message, answers the result and exits.
 */
import { simulate, type CentreModel, type PacingSetup } from './contact-centre.js';

process.once('message', (message: { model: CentreModel; setup: PacingSetup; t0: number }) => {
  simulate(message.model, message.setup, message.t0).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
});
