/** The shape each local service (a Kafka node, the registry, Redis, ClickHouse) has for the stack to run it. */
import type { JavaRuntimes } from './java.ts';
import type { StackLayout } from './layout.ts';
import type { LaunchSpec } from './process.ts';

export interface ServicePort {
  port: number;
  role: string;
}

export interface ServiceHealth {
  version: string;
}

export interface LocalService {
  /** Unique name; also the pid file's name. */
  name: string;
  ports: ServicePort[];
  /** The memory cap it runs with, for humans ("heap 512m"). */
  memory: string;
  logFile: string;
  startTimeoutMs: number;
  stopGraceMs: number;
  /** Downloads, config files, storage formatting: everything before the process starts. Idempotent. */
  prepare(): Promise<void>;
  launchSpec(): LaunchSpec;
  /** Resolves the health (with the version it reports) once ready; undefined or a throw means not yet. */
  health(): Promise<ServiceHealth | undefined>;
  /** One-time work once healthy (e.g. create the database); must be idempotent. */
  afterStart?(): Promise<void>;
}

export interface ServiceContext {
  layout: StackLayout;
  brokers: 1 | 3;
  /** Shared by the services of one operation, so a runtime is resolved (and fetched) once. */
  java: JavaRuntimes;
  progress(line: string): void;
}
