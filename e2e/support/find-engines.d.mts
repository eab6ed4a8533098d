export declare const INSTALL: { readonly firefox: string; readonly webkit: string };
export declare function firefoxPath(): string | undefined;
export declare function miniBrowserPath(): string | undefined;
export declare function onPath(name: string): string | undefined;
export declare function missing(engine: 'firefox' | 'webkit'): string | undefined;
