import type { ErrorCode } from '../../errors.js';

/** The one table from error code to HTTP status. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  DEFINITION_INVALID: 400,
  CONFIG_INVALID: 500,
  PROJECT_NOT_FOUND: 500,
  NOT_APPLIED: 503,
  NOT_FOUND: 404,
  UNKNOWN_FEATURE: 404,
  UNKNOWN_SOURCE: 404,
  UNKNOWN_SERVICE: 404,
  CONFLICT: 409,
  OVERLOADED: 503,
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  REQUEST_TOO_LARGE: 413,
  METHOD_NOT_ALLOWED: 405,
  LISTEN_FAILED: 500,
  MISSING_ENTITY_KEY: 400,
  UNKNOWN_ENTITY_KEY: 400,
  UNSUPPORTED_FORMAT: 415,
  ADAPTER_FAILED: 503,
  FILE_SYSTEM_REFUSED: 503,
  POLICY_DENIED: 403,
  UNAUTHENTICATED: 401,
  USER_CODE_FAILED: 500,
  TIMED_OUT: 504,
  INTERRUPTED: 503,
  REQUEST_TIMED_OUT: 408,
};

/** The one shape of an error answer: `{"error": {"code", "message"}}`. */
export const errorBody = (code: string, message: string) => ({ error: { code, message } });
