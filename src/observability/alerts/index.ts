export { alertDispatcher, drainAlertsAtExit, startAlertDispatcher, DISPATCH_LEASE, NEVER, type AlertDispatcher, type AlertDispatcherOptions, type AlertOutcome, type DispatchSummary } from './alert-dispatcher.js';
export { alertId, alertPayload, type AlertPayload } from './alert-payload.js';
export { ALERT_WEBHOOK_ENV, alertTargets, targetTakes, type WebhookTarget } from './alert-targets.js';
export { startPeriodic, type PeriodicTask } from './periodic-task.js';
export { postWebhook, type WebhookOutcome } from './post-webhook.js';
