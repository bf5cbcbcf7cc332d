import type { Project } from '../../definitions/index.js';
import type { OnlineFeaturesRequest, OnlineFeaturesResponse } from '../../serving/online-features.js';
import { servicePart } from './request-line.js';
import { sampleThreshold } from './sample-key.js';
import { servedKeys, type ServedKeys } from './served-lines.js';
import { UNNAMED_SERVICE } from './served-row.js';

/** How one service (or the feature-list requests) is sampled, resolved once per applied project. */
export interface ServiceLogPlan extends ServedKeys {
  readonly service: string;
  /** The request line's bytes between the request id and `asOf` (`servicePart`). */
  readonly servicePart: Buffer;
  readonly threshold: number;
  /** Per join key, whether it is int64 (its key part is normalized as the lake writes it). */
  readonly int64: readonly boolean[];
  /** The UTC hour of the last request logged and its file, resolved once an hour. */
  hourStart: number;
  path: string;
}

/**
 * The plan of the service a request names (or of a feature-list request): its sample threshold,
 * join keys and the request line's service part, resolved once per applied project and service.
 *
 * @example
 * const plan = planFor(project, request, sampleThreshold(0.1), response);
 */
export function planFor(project: Project, request: OnlineFeaturesRequest, defaultThreshold: number, response: OnlineFeaturesResponse): ServiceLogPlan {
  const service = request.service === undefined ? undefined : project.featureServices.find((s) => s.name === request.service);
  const threshold = service?.log === undefined ? defaultThreshold : sampleThreshold(service.log.sampleRate);
  const firstView = Object.keys(response.views)[0];
  const view = project.featureViews.find((v) => v.name === firstView);
  const joinKeys = view?.joinKeys ?? project.requestViews.find((v) => v.name === firstView)?.joinKeys ?? [];
  const types = view?.columnTypes ?? project.featureViews.find((v) => joinKeys.every((k) => v.joinKeys.includes(k)))?.columnTypes ?? {};
  const name = service?.name ?? UNNAMED_SERVICE;
  return {
    service: name, servicePart: servicePart(name, joinKeys), threshold, ...servedKeys(joinKeys),
    int64: joinKeys.map((k) => types[k] === 'int64'), hourStart: Number.NaN, path: '',
  };
}
