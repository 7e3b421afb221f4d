import type { KubeClient } from './kube-client.js';
import type { Logger } from './logger.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string };
}

/**
 * Kubernetes Events (core/v1) about a resource, for `kubectl describe` and `kubectl get events`. Best effort: a
 * failed write is logged and never fails the reconcile pass that records it.
 */
export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly component = 'kinora-operator',
  ) {}

  async record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const namespace = target.metadata.namespace ?? 'default';
    try {
      await this.client.create(
        { apiVersion: 'v1', plural: 'events', namespace },
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${target.metadata.name}.`, namespace },
          involvedObject: { apiVersion: target.apiVersion, kind: target.kind, name: target.metadata.name, namespace, uid: target.metadata.uid },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: this.component },
          reportingComponent: this.component,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      );
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), reason }, 'could not record a Kubernetes event');
    }
  }
}
