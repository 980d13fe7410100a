/** Types of components.mjs (plain JavaScript so that the test runner needs no loader). */
export interface ComponentStatus {
  readonly available: boolean;
  readonly reason?: string;
}

export interface ComponentSpec {
  readonly name: string;
  readonly packages: readonly string[];
  readonly description: string;
  readonly detect: () => ComponentStatus;
}

export declare const COMPONENTS_ENV: string;
export declare const DISABLE_ENV: string;
export declare const SYSTEM_PYTHON: string;
export declare const COMPONENTS: readonly ComponentSpec[];
export declare const APT_PACKAGES: readonly string[];
export declare function detectComponent(name: string): ComponentStatus;
export declare function detectComponents(): Record<string, ComponentStatus>;
