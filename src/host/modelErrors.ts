/** The host's model errors: the user's cancel, and a setup problem with the action that fixes it. */
import { CancelledError, UserError } from '../errors';

/** The user cancelled (a download, a dialog): nothing to report. */
export class UserCancelled extends CancelledError {
  constructor() {
    super('cancelled');
    this.name = 'UserCancelled';
  }
}

/** A setting or model problem worded for people, with an action that fixes it. */
export class ModelSetupError extends UserError {
  constructor(
    message: string,
    readonly fix: 'chooseModel' | 'openSettings' = 'chooseModel',
  ) {
    super(message);
    this.name = 'ModelSetupError';
  }
}

